/**
 * NATS subject builders and the injective, subject-safe token encoding of
 * DESIGN.md.
 *
 * A token keeps `A-Z a-z 0-9 -` as they are and writes every other UTF-8 byte
 * (including `_` itself) as `_` plus two upper-case hex digits; a lone UTF-16
 * surrogate (no UTF-8 form) as `_S` plus four hex digits. The empty string
 * encodes as a lone `_`, which no other input produces. Decoding is
 * unambiguous, so the encoding is injective; the output never contains `.`,
 * `*`, `>`, whitespace or control characters, so it is always one valid token.
 *
 * @module
 */

const SAFE = /^[A-Za-z0-9-]$/;
const HEX = "0123456789ABCDEF";
const encoder = new TextEncoder();

/**
 * Encodes any string as one NATS subject token (and file-name safe).
 *
 * @example
 * ```ts
 * subjectToken("player@example.com"); // "player_40example_2Ecom"
 * ```
 */
export function subjectToken(id: string): string {
  if (id === "") return "_";
  let out = "";
  for (const ch of id) {
    if (SAFE.test(ch)) {
      out += ch;
      continue;
    }
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) {
      // A lone surrogate (JSON can carry one in a token's `sub`) has no UTF-8
      // form; TextEncoder would turn every one into U+FFFD and merge ids.
      out += "_S" + cp.toString(16).toUpperCase().padStart(4, "0");
      continue;
    }
    for (const byte of encoder.encode(ch)) out += "_" + HEX[byte >> 4] + HEX[byte & 15];
  }
  return out;
}

/**
 * Inverse of {@linkcode subjectToken}; throws on strings it cannot have produced.
 *
 * @example
 * ```ts
 * decodeSubjectToken("a_2Eb"); // "a.b"
 * ```
 */
export function decodeSubjectToken(token: string): string {
  if (token === "_") return "";
  let out = "";
  const bytes: number[] = [];
  const flush = () => {
    // ignoreBOM: by default a decoder drops a leading U+FEFF, so "\uFEFF" would decode to "".
    out += new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      new Uint8Array(bytes),
    );
    bytes.length = 0;
  };
  for (let i = 0; i < token.length; i++) {
    const ch = token[i]!;
    if (ch === "_" && token[i + 1] === "S") {
      const hex = token.slice(i + 2, i + 6);
      if (!/^D[89A-F][0-9A-F]{2}$/.test(hex)) throw new Error(`invalid surrogate escape at ${i}`);
      flush();
      out += String.fromCharCode(parseInt(hex, 16));
      i += 5;
    } else if (ch === "_") {
      const hex = token.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) throw new Error(`invalid token escape at ${i}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (SAFE.test(ch)) {
      bytes.push(ch.charCodeAt(0));
    } else {
      throw new Error(`invalid token character at ${i}`);
    }
  }
  flush();
  return out;
}

/** Prefix of every world-update subject. */
export const WORLD_UPDATES_PREFIX = "world.updates";

/**
 * The subject that carries one user's events.
 *
 * @example
 * ```ts
 * userSubject("a.b"); // "world.updates.user.a_2Eb"
 * ```
 */
export function userSubject(userId: string): string {
  return `${WORLD_UPDATES_PREFIX}.user.${subjectToken(userId)}`;
}

/**
 * The subject that carries shared-world changes of one experience.
 *
 * @example
 * ```ts
 * experienceSubject("wylding-woods"); // "world.updates.experience.wylding-woods"
 * ```
 */
export function experienceSubject(experienceId: string): string {
  return `${WORLD_UPDATES_PREFIX}.experience.${subjectToken(experienceId)}`;
}

/** Prefix of presence heartbeats (core NATS, not retained). */
export const PRESENCE_PREFIX = "presence.experience";

/**
 * The subject on which chat processes announce who holds a world stream of
 * one experience (heartbeats, arrivals, moves, departures). Not retained:
 * presence is what is true now.
 *
 * @example
 * ```ts
 * presenceSubject("wylding-woods"); // "presence.experience.wylding-woods"
 * ```
 */
export function presenceSubject(experienceId: string): string {
  return `${PRESENCE_PREFIX}.${subjectToken(experienceId)}`;
}

/**
 * The subject that carries `say` and `emote` lines of one experience (core
 * NATS, not retained: speech is ephemeral). User ids travel in the payload
 * only, so no user id can shape a subject.
 *
 * @example
 * ```ts
 * talkSubject("wylding-woods"); // "talk.experience.wylding-woods"
 * ```
 */
export function talkSubject(experienceId: string): string {
  return `talk.experience.${subjectToken(experienceId)}`;
}

/** Request-reply subject of the KB (queue group {@linkcode KB_QUEUE}). */
export const KB_INTERACT = "kb.interact";
/**
 * The request subject of one world's actions: `kb.interact.<experience
 * token>`. Chat sends each action to its experience's subject, so a KB can
 * answer only the worlds it may act on (a `files` KB, those it holds a
 * lease for); any other KB answers {@linkcode KB_INTERACT_ANY}.
 *
 * @example
 * ```ts
 * kbInteractSubject("wylding-woods"); // "kb.interact.wylding-woods"
 * ```
 */
export function kbInteractSubject(experienceId: string): string {
  return `${KB_INTERACT}.${subjectToken(experienceId)}`;
}
/** Every world's request subject (a KB that may act on any world). */
export const KB_INTERACT_ANY = "kb.interact.*";
/**
 * Request-reply subject on which a KB lists its experiences (queue group
 * {@linkcode KB_QUEUE}); the reply is `{experiences: [{id, name, ...}]}`. A
 * `ROLE=chat` process uses it to refuse world streams for unknown experiences.
 */
export const KB_EXPERIENCES = "kb.experiences";
/**
 * Request-reply subject on which a KB says where a player is:
 * `{user_id, experience}` → `{ok: true, name, location, state_model}` (queue
 * group {@linkcode KB_QUEUE}); chat needs it for presence and speech.
 */
export const KB_LOCATE = "kb.locate";
/** Queue group of KB responders. */
export const KB_QUEUE = "kb";
/** Lifecycle announcement when a module is ready. */
export const SERVICE_READY = "gaia.service.ready";
/** Periodic health announcement. */
export const SERVICE_HEALTH = "gaia.service.health";
/** NATS header that carries the request id across modules. */
export const REQUEST_ID_HEADER = "X-Request-Id";

/**
 * Name of a file or directory for an id: the token when short enough,
 * otherwise `_L` plus the SHA-256 of the id (`_L` is never produced by
 * {@linkcode subjectToken}, so the two forms cannot collide).
 *
 * @example
 * ```ts
 * await fileNameFor("../x"); // "_2E_2E_2Fx"
 * ```
 */
export async function fileNameFor(id: string): Promise<string> {
  const token = subjectToken(id);
  if (token.length <= 160) return token;
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(id));
  return "_L" + Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
