/**
 * The set of loaded experiences, kept fresh without a restart: each lookup
 * compares the files' mtimes with what was loaded (a few `stat` calls) and
 * reloads on change. A broken edit is logged once and the last good version
 * stays in use, so an edit can never take a live experience down.
 *
 * @module
 */
import { type Clock, systemClock } from "../shared/clock.ts";
import { log } from "../shared/log.ts";
import { contentSignature, type Experience, EXPERIENCE_ID, loadExperience } from "./content.ts";

interface Entry {
  exp: Experience;
  signature: string;
  /** Signature of the last edit that failed to load (logged once). */
  badSignature?: string;
}

/** What `GET /api/v0.3/experiences` lists per experience. */
export interface ExperienceInfo {
  id: string;
  name: string;
  description: string;
  state_model: "shared" | "isolated";
  /** What a player reads on entering (when the experience declares one). */
  intro?: string;
}

/** How long a directory listing is trusted before it is checked again (ms). */
const LISTING_TTL_MS = 1_000;

/**
 * Loaded experiences with mtime-based reload. The directory listing's TTL
 * runs on `clock` (default: the system's), so a test moves a `ManualClock`
 * past it instead of sleeping.
 *
 * @example
 * ```ts
 * const catalog = await Catalog.load("./kb-data");
 * const exp = await catalog.get("wylding-woods"); // undefined when unknown
 * ```
 */
export class Catalog {
  readonly dataDir: string;
  readonly #clock: Pick<Clock, "now">;
  #entries = new Map<string, Entry>();
  #listedAt = 0;
  /** New directories that failed to load, by signature, so each failure is logged once. */
  #rejected = new Map<string, string>();

  private constructor(dataDir: string, clock: Pick<Clock, "now">) {
    this.dataDir = dataDir;
    this.#clock = clock;
  }

  /**
   * Loads every experience; throws `bad_content` on the first invalid one.
   *
   * @example
   * ```ts
   * const catalog = await Catalog.load("./kb-data", { clock: new ManualClock() });
   * ```
   */
  static async load(dataDir: string, opts: { clock?: Pick<Clock, "now"> } = {}): Promise<Catalog> {
    const catalog = new Catalog(dataDir, opts.clock ?? systemClock);
    for (const id of await catalog.#listIds()) {
      const dir = `${dataDir}/experiences/${id}`;
      const signature = contentSignature(dir);
      catalog.#entries.set(id, { exp: await loadExperience(dataDir, id), signature });
    }
    catalog.#listedAt = catalog.#clock.now();
    return catalog;
  }

  async #listIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const e of Deno.readDir(`${this.dataDir}/experiences`)) {
      if (e.isDirectory && !e.name.startsWith(".")) ids.push(e.name);
    }
    return ids.sort();
  }

  /** Whether `id` is a loaded experience; a map lookup, never touches the file system. */
  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /** Summary of every loaded experience, sorted by id. */
  list(): ExperienceInfo[] {
    return [...this.#entries.values()].map(({ exp }) => ({
      id: exp.id,
      name: exp.config.name,
      description: exp.config.description,
      state_model: exp.config.state.model,
      ...(exp.config.intro ? { intro: exp.config.intro } : {}),
    })).sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  }

  /**
   * The current content of an experience, or undefined when it is not in the
   * catalog. The id is checked against the catalog before any file access,
   * so input never becomes a path.
   */
  async get(id: string): Promise<Experience | undefined> {
    if (!this.has(id)) {
      await this.#relist();
      if (!this.has(id)) return undefined;
    }
    const entry = this.#entries.get(id)!;
    const dir = `${this.dataDir}/experiences/${entry.exp.id}`;
    const signature = contentSignature(dir);
    if (signature === entry.signature || signature === entry.badSignature) return entry.exp;
    try {
      const exp = await loadExperience(this.dataDir, entry.exp.id);
      this.#entries.set(id, { exp, signature });
      log("info", "experience content reloaded", { experience: id });
      return exp;
    } catch (e) {
      entry.badSignature = signature;
      log("error", "experience content edit rejected; keeping the last good version", {
        experience: id,
        error: (e as Error).message,
      });
      return entry.exp;
    }
  }

  /** Picks up experience directories added since the last listing (throttled). */
  refresh(): Promise<void> {
    return this.#relist();
  }

  async #relist(): Promise<void> {
    const now = this.#clock.now();
    if (now - this.#listedAt < LISTING_TTL_MS) return;
    this.#listedAt = now;
    let ids: string[];
    try {
      ids = await this.#listIds();
    } catch {
      return;
    }
    for (const id of ids) {
      if (this.#entries.has(id) || !EXPERIENCE_ID.test(id)) continue;
      const signature = contentSignature(`${this.dataDir}/experiences/${id}`);
      if (this.#rejected.get(id) === signature) continue;
      try {
        this.#entries.set(id, { exp: await loadExperience(this.dataDir, id), signature });
        this.#rejected.delete(id);
        log("info", "experience added", { experience: id });
      } catch (e) {
        this.#rejected.set(id, signature);
        log("error", "new experience rejected", { experience: id, error: (e as Error).message });
      }
    }
  }
}
