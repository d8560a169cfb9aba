/**
 * Tokens for tests: one secret for every test process (the kit's `setup()`
 * and `spawnServer()` both sign with it), and bearer headers.
 *
 * @module
 */
import { issueToken } from "../../shared/auth.ts";

/** `JWT_SECRET` of every process the kit starts. */
export const TEST_SECRET = "test-secret-test-secret-test-secret";

/**
 * A signed token for `user` (1 h unless `ttlS` says otherwise; negative: expired).
 *
 * @example
 * ```ts
 * const token = await tokenFor("alice");
 * const expired = await tokenFor("alice", { ttlS: -10 });
 * ```
 */
export function tokenFor(
  user: string,
  opts: { ttlS?: number; secret?: string } = {},
): Promise<string> {
  return issueToken(user, opts.secret ?? TEST_SECRET, opts.ttlS ?? 3600);
}

/**
 * Request headers with a bearer token and a JSON body type.
 *
 * @example
 * ```ts
 * await fetch(url, { method: "POST", headers: bearer(token), body });
 * ```
 */
export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
}
