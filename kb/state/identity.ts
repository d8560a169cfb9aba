/**
 * The identity of a `STATE_DIR`: a random id kept in `STATE_DIR/.state-id`,
 * made by whichever process starts first. Every KB process that shares the
 * directory (one host, one truth) has the same identity; a KB with another
 * directory (another host's files) has another, which is how the world
 * leases (`kb/world_leases.ts`) tell a split apart from a second process.
 *
 * @module
 */

/** Name of the identity file in `STATE_DIR`. */
export const IDENTITY_FILE = ".state-id";

/**
 * The directory's identity, created (exclusively, so two processes starting
 * together agree) when missing.
 *
 * @example
 * ```ts
 * const id = await stateIdentity("./.state"); // "5f0c…", the same for every KB on this directory
 * ```
 */
export async function stateIdentity(stateDir: string): Promise<string> {
  const path = `${stateDir}/${IDENTITY_FILE}`;
  await Deno.mkdir(stateDir, { recursive: true });
  const id = crypto.randomUUID();
  try {
    await Deno.writeTextFile(path, `${id}\n`, { createNew: true });
    return id;
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  // Another process made it first (it may still be writing it: read until complete).
  for (let i = 0;; i++) {
    const text = (await Deno.readTextFile(path)).trim();
    if (/^[0-9a-f-]{36}$/.test(text) || i >= 50) {
      if (!text) throw new Error(`${path} is empty: delete it while no KB runs`);
      return text;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
