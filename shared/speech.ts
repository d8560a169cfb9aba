/**
 * What a typed line means when it is speech rather than a command:
 * `say <text>`, `'text`, `"text` (spoken) and `emote <text>`, `me <text>`
 * (acted). Pure and browser-safe.
 *
 * @module
 */
import { MAX_SAY_CHARS } from "./presence_schema.ts";

/** A line of speech. */
export interface Speech {
  kind: "say" | "emote";
  /** The text, trimmed, with control characters made spaces. */
  text: string;
}

const FORMS: ReadonlyArray<[RegExp, Speech["kind"]]> = [
  [/^say(?:\s+|$)/i, "say"],
  [/^['"]/, "say"],
  [/^emote(?:\s+|$)/i, "emote"],
  [/^me(?:\s+|$)/i, "emote"],
];

/**
 * The speech a message is, or `undefined` when it is a command. The text may
 * be empty or too long: the caller says so ({@linkcode speechProblem}).
 *
 * @example
 * ```ts
 * parseSpeech("'hello there"); // { kind: "say", text: "hello there" }
 * parseSpeech("me waves"); // { kind: "emote", text: "waves" }
 * parseSpeech("take lantern"); // undefined
 * ```
 */
export function parseSpeech(message: string): Speech | undefined {
  const line = message.trim();
  for (const [form, kind] of FORMS) {
    const m = form.exec(line);
    if (!m) continue;
    let text = line.slice(m[0].length);
    // A quoted line may close its quote: "hello" says hello.
    if (/^['"]/.test(m[0]) && text.endsWith(m[0])) text = text.slice(0, -1);
    // deno-lint-ignore no-control-regex
    text = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ").trim();
    return { kind, text };
  }
  return undefined;
}

/**
 * Why a speech cannot be sent (`say_empty`, `say_too_long`), or `undefined`.
 *
 * @example
 * ```ts
 * speechProblem({ kind: "say", text: "" }); // "say_empty"
 * ```
 */
export function speechProblem(s: Speech): "say_empty" | "say_too_long" | undefined {
  if (s.text.length === 0) return "say_empty";
  if ([...s.text].length > MAX_SAY_CHARS) return "say_too_long";
  return undefined;
}
