/**
 * The one timeout race: a promise against a timer, the timer always cleared
 * (so Deno's test sanitizers and shutdown never wait on a stray timer).
 *
 * @module
 */

/**
 * Settles like `promise`, or, when it has not settled after `ms`, like
 * `onTimeout()`: its return value resolves, what it throws rejects. The
 * promise itself is not cancelled; `onTimeout` is where a caller aborts it.
 *
 * @example
 * ```ts
 * const drained = await withTimeout(server.finished.then(() => true), 5_000, () => false);
 * const chunk = await withTimeout(it.next(), 20_000, () => {
 *   throw new Error("stalled");
 * });
 * ```
 */
export function withTimeout<T, U>(
  promise: PromiseLike<T>,
  ms: number,
  onTimeout: () => U,
): Promise<T | U> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<U>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (e) {
        reject(e);
      }
    }, ms);
  });
  return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
}
