/**
 * One-edit typo tolerance: a word one insertion, deletion, substitution or
 * swap of neighbours away from exactly one known word is read as that word
 * ("tkae" → "take", "nroth" → "north"). Short words are never corrected:
 * too many real words are one edit apart.
 *
 * @module
 */

/**
 * Words shorter than this are taken as typed.
 *
 * @example
 * ```ts
 * correction("lok", ["look"]); // undefined: shorter than MIN_TYPO_LENGTH
 * ```
 */
export const MIN_TYPO_LENGTH = 4;

/**
 * Whether `a` and `b` are at most one edit apart (optimal string alignment:
 * a swap of two neighbouring letters counts as one edit).
 *
 * @example
 * ```ts
 * oneEdit("tkae", "take"); // true
 * ```
 */
export function oneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true; // substitution
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2); // swap
  }
  const [long, short] = a.length > b.length ? [a, b] : [b, a];
  return long.slice(i + 1) === short.slice(i); // insertion or deletion
}

/**
 * The one known word `word` is a typo of, or undefined (none, several, the
 * word is itself known, or it is too short).
 *
 * @example
 * ```ts
 * correction("nroth", ["north", "south"]); // "north"
 * ```
 */
export function correction(word: string, known: Iterable<string>): string | undefined {
  if (word.length < MIN_TYPO_LENGTH || /\d/.test(word)) return undefined;
  let found: string | undefined;
  for (const k of known) {
    if (k === word) return undefined;
    if (k.length < MIN_TYPO_LENGTH - 1 || !oneEdit(word, k)) continue;
    if (found !== undefined && found !== k) return undefined;
    found = k;
  }
  return found;
}

/**
 * The optimal-string-alignment distance (insertions, deletions,
 * substitutions and swaps of neighbours each count one).
 *
 * @example
 * ```ts
 * editDistance("descripton", "description"); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
