/**
 * The command box's checks, before anything is sent: an empty line says
 * so, and a line over the server's limits (shared/schema.ts
 * `MAX_MESSAGE_BYTES` for any message, shared/presence_schema.ts
 * `MAX_SAY_CHARS` for the text of speech) says how long it is, in the hint
 * under the box (which a screen reader reads with the box).
 *
 * @module
 */

/** The server's limits. */
export const MAX_MESSAGE_BYTES = 16 * 1024;
export const MAX_SAY_CHARS = 500;
/** Speech forms (shared/speech.ts): the limit counts the text after them. */
const SPEECH = /^(?:say(?:\s+|$)|['"]|emote(?:\s+|$)|me(?:\s+|$))/i;
const HINT = "Enter sends; ↑ and ↓ recall earlier commands. Talk with say … or emote ….";

/**
 * Why `message` (trimmed) cannot be sent, or null.
 *
 * @example
 * ```js
 * inputProblem(""); // "Type a command first (try look or help)."
 * ```
 */
export function inputProblem(message) {
  if (!message) return "Type a command first (try look or help).";
  const speech = SPEECH.exec(message);
  if (speech) {
    const chars = [...message.slice(speech[0].length).trim()].length;
    if (chars > MAX_SAY_CHARS) {
      return `Too long to say: ${chars} of at most ${MAX_SAY_CHARS} characters.`;
    }
  }
  const bytes = new TextEncoder().encode(message).length;
  if (bytes > MAX_MESSAGE_BYTES) return `Too long: ${bytes} of at most ${MAX_MESSAGE_BYTES} bytes.`;
  return null;
}

/**
 * Shows a problem (or the usual hint) under the command box.
 *
 * @example
 * ```js
 * showHint(inputProblem(input.value.trim()));
 * ```
 */
export function showHint(problem, doc = document) {
  const hint = doc.getElementById("command-hint");
  hint.textContent = problem ?? HINT;
  hint.classList.toggle("error", problem !== null);
  doc.getElementById("command").setAttribute("aria-invalid", problem ? "true" : "false");
}

/**
 * ↑ and ↓ in the command box recall earlier commands (`state.history`,
 * `state.historyAt`).
 *
 * @example
 * ```js
 * input.addEventListener("keydown", (ev) => historyKey(ev, state));
 * ```
 */
export function historyKey(ev, state) {
  const input = ev.target;
  if (ev.key !== "ArrowUp" && ev.key !== "ArrowDown") return;
  if (state.history.length === 0) return;
  ev.preventDefault();
  const step = ev.key === "ArrowUp" ? -1 : 1;
  state.historyAt = Math.max(0, Math.min(state.history.length, state.historyAt + step));
  input.value = state.history[state.historyAt] ?? "";
}
