/**
 * Merging the chat answer's two sources as `ReadableStream`s: the action's
 * world updates first, then the narrative. Both sources run from the start
 * (the narrator starts its first-token wait while updates are written), but
 * nothing of the second is emitted before the first has closed. Cancelling
 * the merged stream cancels both sources; an error in either cancels the other.
 *
 * @module
 */

/**
 * Emits all of `first`, then all of `second`.
 *
 * @example
 * ```ts
 * const parts = worldFirst(updates.stream, narrativeStream(narrator, input, 20_000));
 * ```
 */
export function worldFirst<T>(
  first: ReadableStream<T>,
  second: ReadableStream<T>,
): ReadableStream<T> {
  const a = first.getReader();
  const b = second.getReader();
  let onSecond = false;
  const cancelBoth = async (reason?: unknown) => {
    await Promise.allSettled([a.cancel(reason), b.cancel(reason)]);
  };
  return new ReadableStream<T>({
    async pull(controller) {
      try {
        for (;;) {
          const { value, done } = await (onSecond ? b : a).read();
          if (!done) {
            controller.enqueue(value);
            return;
          }
          if (onSecond) {
            controller.close();
            return;
          }
          onSecond = true;
        }
      } catch (e) {
        await cancelBoth(e);
        controller.error(e);
      }
    },
    cancel: (reason) => cancelBoth(reason),
  }, { highWaterMark: 0 });
}
