/**
 * The story: the player's turns (the command, what it was understood as,
 * the narrative, an error), other players' actions in the third person and
 * what players here say, in the order they happened. Everything is text
 * (`textContent`), never markup: names and speech come from other players.
 *
 * The transcript is kept per player and experience in `sessionStorage`
 * (bounded), so a reload shows it again; the newest entry is scrolled into
 * view whenever one is added or grows.
 *
 * @module
 */

/** Entries kept (and saved) per experience. */
const MAX_ENTRIES = 80;

/**
 * A line of speech as the story tells it.
 *
 * @example
 * ```js
 * speechLine({ name: "ada", kind: "say", text: "hi" }, false); // "ada says, “hi”"
 * ```
 */
export function speechLine(say, mine) {
  if (say.kind === "emote") return `${say.name} ${say.text}`;
  return mine ? `You say, “${say.text}”` : `${say.name} says, “${say.text}”`;
}

/** What free-form text was understood as, before the prose: "(take dream bottle) ". */
function understoodSpan(doc, command) {
  const span = doc.createElement("span");
  span.className = "understood";
  span.textContent = `(${command}) `;
  return span;
}

function errorSpan(doc, message) {
  const span = doc.createElement("span");
  span.className = "error";
  span.textContent = ` ${message}`;
  return span;
}

/**
 * One experience's story, shown in `root` and saved under `key`.
 *
 * @example
 * ```js
 * const story = new Transcript({ root: $("narrative"), key: "gaia.transcript:ada:woods" });
 * story.restore();
 * const turn = story.turn("look"); turn.append("You see trees."); turn.done();
 * story.line("other", "bryn takes the lamp");
 * ```
 */
export class Transcript {
  /** @param {{root: HTMLElement, key: string, storage?: Storage}} opts */
  constructor(opts) {
    this.root = opts.root;
    this.key = opts.key;
    this.storage = opts.storage ?? globalThis.sessionStorage;
    /** @type {any[]} */
    this.entries = [];
  }

  /** Shows the saved transcript; true when there was one. */
  restore() {
    let saved = [];
    try {
      saved = JSON.parse(this.storage.getItem(this.key) ?? "[]");
    } catch { /* unreadable: start afresh */ }
    if (!Array.isArray(saved)) saved = [];
    for (const entry of saved.slice(-MAX_ENTRIES)) {
      if (!entry || typeof entry !== "object") continue;
      this.entries.push(entry);
      this.root.append(this.#element(entry).el);
    }
    this.#scroll();
    return this.entries.length > 0;
  }

  /** An intro paragraph (kept like any entry). */
  intro(text) {
    this.#add({ t: "intro", text });
  }

  /** A line that is not the player's own turn: `other` (an action), `say`, `emote`. */
  line(kind, text) {
    this.#add({ t: "line", kind, text });
  }

  /**
   * Starts the player's turn for `message`; the handle fills it as the
   * answer streams in.
   */
  turn(message) {
    const entry = { t: "turn", said: message, text: "", understood: null, error: null };
    const parts = this.#add(entry, false);
    const save = () => this.#save();
    return {
      understood: (command) => {
        entry.understood = command;
        parts.story.insertBefore(understoodSpan(this.root.ownerDocument, command), parts.text);
        this.#scroll();
      },
      append: (text) => {
        entry.text += text;
        parts.text.appendData(text);
        this.#scroll();
      },
      error: (message) => {
        entry.error = message;
        parts.story.append(errorSpan(this.root.ownerDocument, message));
        this.#scroll();
      },
      done: save,
    };
  }

  #add(entry, save = true) {
    this.entries.push(entry);
    const parts = this.#element(entry);
    this.root.append(parts.el);
    while (this.entries.length > MAX_ENTRIES) {
      this.entries.shift();
      this.root.firstElementChild?.remove();
    }
    if (save) this.#save();
    this.#scroll();
    return parts;
  }

  #element(entry) {
    const doc = this.root.ownerDocument;
    if (entry.t === "line") {
      const p = doc.createElement("p");
      p.className = `line ${entry.kind}`;
      p.textContent = String(entry.text ?? "");
      return { el: p };
    }
    const turn = doc.createElement("article");
    turn.className = entry.t === "intro" ? "turn intro" : "turn";
    const story = doc.createElement("p");
    story.className = "story";
    const text = doc.createTextNode(String(entry.text ?? ""));
    story.append(text);
    if (entry.understood) story.insertBefore(understoodSpan(doc, entry.understood), text);
    if (entry.error) story.append(errorSpan(doc, entry.error));
    if (entry.t === "turn") {
      const said = doc.createElement("p");
      said.className = "said";
      said.textContent = `> ${entry.said}`;
      turn.append(said);
    }
    turn.append(story);
    return { el: turn, story, text };
  }

  #save() {
    try {
      this.storage.setItem(this.key, JSON.stringify(this.entries.slice(-MAX_ENTRIES)));
    } catch { /* storage full or disabled: the story still shows */ }
  }

  #scroll() {
    // The newest entry in view, inside the story box and on the page (phones).
    this.root.scrollTop = this.root.scrollHeight;
  }
}
