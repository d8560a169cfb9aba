/**
 * Reading the `nats` state backend's buckets from a test, on a connection
 * of its own: what a KB committed, as JetStream holds it.
 *
 * @module
 */
import { kvUnitFor } from "../../kb/state/kv_unit.ts";
import { decodeUnit, type KvUnitDoc } from "../../kb/state/kv_unit.ts";
import { NatsBus } from "../../shared/bus/mod.ts";
import type { StateModel } from "../../shared/schema.ts";

/**
 * The stored unit `userId` acts on in `experience` (a shared world: any
 * user), or undefined when it was never written.
 *
 * @example
 * ```ts
 * const doc = await storedUnit(nats.url, "wylding-woods", "shared");
 * doc?.version; // the committed version
 * ```
 */
export async function storedUnit(
  natsUrl: string,
  experience: string,
  model: StateModel,
  userId = "",
): Promise<KvUnitDoc | undefined> {
  const unit = await kvUnitFor(experience, model, userId);
  const bus = await NatsBus.connect(natsUrl);
  try {
    const e = await (await bus.kv({ name: unit.dir, singleKey: model === "shared" })).get(
      unit.lock,
    );
    return e ? decodeUnit(e.value) : undefined;
  } finally {
    await bus.close();
  }
}
