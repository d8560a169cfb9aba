/**
 * A small least-recently-used map: a `Map` kept in use order with a size
 * bound, for caches and memories that must not grow without limit.
 *
 * @module
 */

/** Options of {@linkcode LruMap}. */
export interface LruMapOptions<K, V> {
  /** Most entries kept (at least 1). */
  max: number;
  /**
   * Whether an entry may be evicted now (default: always). Entries it refuses
   * (in use) are skipped and stay, so the map can hold more than `max` until
   * {@linkcode LruMap.prune} runs after they are released.
   */
  mayEvict?: (value: V, key: K) => boolean;
  /** Called for each entry evicted to respect `max` (not for `delete` or `clear`). */
  onEvict?: (value: V, key: K) => void;
}

/**
 * A map that forgets its least recently used entries past `max`. `get` and
 * `set` make an entry the most recently used; `has` and `peek` do not.
 * Iteration runs from the least to the most recently used.
 *
 * @example
 * ```ts
 * const handles = new LruMap<string, Deno.FsFile>({
 *   max: 2,
 *   onEvict: (file) => file.close(),
 * });
 * handles.set("a", fileA);
 * handles.set("b", fileB);
 * handles.get("a"); // "a" is now the most recent
 * handles.set("c", fileC); // evicts and closes "b"
 * [...handles.keys()]; // ["a", "c"]
 * ```
 */
export class LruMap<K, V> implements Iterable<[K, V]> {
  /** Most entries kept (the map may hold more while `mayEvict` refuses). */
  readonly max: number;
  readonly #map = new Map<K, V>();
  readonly #mayEvict: ((value: V, key: K) => boolean) | undefined;
  readonly #onEvict: ((value: V, key: K) => void) | undefined;

  constructor(opts: LruMapOptions<K, V>) {
    this.max = Math.max(1, opts.max);
    this.#mayEvict = opts.mayEvict;
    this.#onEvict = opts.onEvict;
  }

  /** Number of entries. */
  get size(): number {
    return this.#map.size;
  }

  /** The value for `key`, which becomes the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const map = this.#map;
    const value = map.get(key);
    if (value === undefined && !map.has(key)) return undefined;
    // Map keeps insertion order: re-inserting moves the key to the end.
    map.delete(key);
    map.set(key, value as V);
    return value;
  }

  /** The value for `key` without changing its place; undefined when absent. */
  peek(key: K): V | undefined {
    return this.#map.get(key);
  }

  /** Whether `key` is present (does not change its place). */
  has(key: K): boolean {
    return this.#map.has(key);
  }

  /**
   * Sets `key` as the most recently used entry, then evicts the least recently
   * used evictable entries while the map is over `max`.
   */
  set(key: K, value: V): this {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.max) this.prune();
    return this;
  }

  /** Removes `key` (no eviction hook); true when it was present. */
  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  /** Removes every entry (no eviction hook). */
  clear(): void {
    this.#map.clear();
  }

  /**
   * Evicts the least recently used evictable entries while the map is over
   * `max`: call it when an entry `mayEvict` refused becomes evictable.
   */
  prune(): void {
    const map = this.#map;
    if (map.size <= this.max) return;
    for (const [key, value] of map) {
      if (map.size <= this.max) break;
      if (this.#mayEvict && !this.#mayEvict(value, key)) continue;
      map.delete(key);
      this.#onEvict?.(value, key);
    }
  }

  /** Keys, least recently used first. */
  keys(): MapIterator<K> {
    return this.#map.keys();
  }

  /** Values, least recently used first. */
  values(): MapIterator<V> {
    return this.#map.values();
  }

  /** Entries, least recently used first. */
  entries(): MapIterator<[K, V]> {
    return this.#map.entries();
  }

  /** Entries, least recently used first. */
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#map.entries();
  }
}
