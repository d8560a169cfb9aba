/**
 * The game around the scene: the experience's intro when a player enters,
 * the score and an ending the player reached (from their profile, so each
 * player sees their own, also in a shared world), and, in dev, the content
 * problems of the experience being played (`GET /kb/experience/content`,
 * polled; a content edit also refetches the snapshot, so the side panel's
 * description follows the edit and not only the next command's text).
 *
 * @module
 */

const POLL_MS = 2000;

/**
 * Shows the score and the ending of a view model (see view.js).
 *
 * @example
 * ```js
 * showProgress(vm, document);
 * ```
 */
export function showProgress(vm, doc = document) {
  const score = doc.getElementById("score");
  score.hidden = !vm.score;
  if (vm.score) score.textContent = `Score: ${vm.score.points} of ${vm.score.max}`;
  const ending = doc.getElementById("ending");
  ending.hidden = !vm.ending;
  if (vm.ending) {
    doc.getElementById("ending-title").textContent = `The end: ${vm.ending.title}`;
    doc.getElementById("ending-text").textContent = vm.ending.text ?? "";
  }
}

/**
 * Polls the content problems of one experience while it is played; stops
 * by itself where the route is not allowed (outside dev: 403).
 *
 * @example
 * ```js
 * const watch = new ContentWatch({ experience, onProblems, onRevision });
 * watch.start(); watch.stop();
 * ```
 */
export class ContentWatch {
  /**
   * @param {{
   *   experience: string,
   *   onProblems: (problems: string[]) => void,
   *   onRevision: () => void,
   * }} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.revision = null;
    this.timer = undefined;
    this.stopped = false;
  }

  start() {
    this.poll();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  async poll() {
    if (this.stopped) return;
    try {
      const q = new URLSearchParams({ experience: this.opts.experience });
      const res = await fetch(`/kb/experience/content?${q}`, { cache: "no-store" });
      if (res.status === 403 || res.status === 404) return; // not dev, or nothing to show
      if (res.ok) {
        const body = await res.json();
        this.opts.onProblems(body.problems ?? []);
        if (this.revision !== null && body.revision !== this.revision) this.opts.onRevision();
        this.revision = body.revision;
      }
    } catch {
      // The server is away; the connection badge says so. Try again later.
    }
    if (!this.stopped) this.timer = setTimeout(() => this.poll(), POLL_MS);
  }
}

/**
 * The experience's intro as the first turn of the story (a `Transcript`,
 * story.js), then a look (`command` runs it like a typed one); nothing when
 * the story has entries (a reload shows the kept transcript instead).
 *
 * @example
 * ```js
 * introduce(experienceInfo, command, transcript);
 * ```
 */
export function introduce(x, command, story) {
  if (story.entries.length) return;
  story.intro(x?.intro ?? x?.description ?? "");
  command("look");
}

/**
 * Shows the content problems of the experience being played (none: hidden).
 *
 * @example
 * ```js
 * showProblems(["items.json: at 'lamp': unknown key 'nmae' (did you mean 'name'?)"]);
 * ```
 */
export function showProblems(problems, doc = document) {
  doc.getElementById("content-errors").hidden = problems.length === 0;
  doc.getElementById("content-problems").replaceChildren(...problems.map((p) => {
    const li = doc.createElement("li");
    li.textContent = p;
    return li;
  }));
}

/**
 * The experience choices of the sign-in form, one radio each (`chosen` checked).
 *
 * @example
 * ```js
 * showExperiences(document.getElementById("experiences"), experiences, "wylding-woods");
 * ```
 */
export function showExperiences(fieldset, experiences, chosen, doc = document) {
  for (const x of experiences) {
    const label = doc.createElement("label");
    label.className = "choice";
    const radio = doc.createElement("input");
    radio.type = "radio";
    radio.name = "experience";
    radio.value = x.id;
    radio.required = true;
    radio.checked = x.id === chosen;
    const title = doc.createElement("strong");
    title.textContent = `${x.name} `;
    const model = doc.createElement("span");
    model.className = "muted small";
    model.textContent = x.state_model === "shared" ? "(shared world)" : "(your own world)";
    const desc = doc.createElement("span");
    desc.className = "muted small block";
    desc.textContent = x.description ?? "";
    label.append(radio, title, model, desc);
    fieldset.append(label);
  }
}
