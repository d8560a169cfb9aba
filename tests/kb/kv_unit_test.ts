/**
 * The `nats` backend's unit layout, pure: bucket and key names stay valid
 * NATS names for any id (hostile and long ones included) and are distinct
 * per unit; a unit's value round-trips through its codec.
 */
import assert from "node:assert/strict";
import { decodeUnit, encodeUnit, kvUnitFor } from "../../kb/state/kv_unit.ts";

const BUCKET = /^[-\w]+$/;
const KEY = /^[-/=.\w]+$/;

Deno.test("kv units: bucket per experience, key per unit, valid NATS names for any id", async () => {
  const ids = ["alice", "a.b", "../x", "", "ü 🎲", "*>", "x".repeat(500), "\u{D800}"];
  const keys = new Set<string>();
  for (const user of ids) {
    const shared = await kvUnitFor("wylding-woods", "shared", user);
    assert.equal(shared.dir, "gaia_state_wylding-woods");
    assert.equal(shared.lock, "world");
    assert.equal(shared.player, user);
    const iso = await kvUnitFor(user, "isolated", user);
    assert.match(iso.dir, BUCKET);
    assert.ok(iso.dir.length <= 255 - 3, "a stream name of at most 255 characters");
    assert.match(iso.lock, KEY);
    assert.ok(!iso.lock.endsWith(".") && !iso.lock.includes(".."), iso.lock);
    keys.add(iso.key);
  }
  assert.equal(keys.size, ids.length, "one unit per user");
});

Deno.test("kv units: a value round-trips (version, acknowledged mark, outbox, world, players)", () => {
  const doc = {
    version: 7,
    acked: 5,
    outbox: [],
    world: { locations: { a: { items: {} } } },
    players: { "a.b": { inventory: {} }, "../x": { score: 2 } },
  };
  const back = decodeUnit(encodeUnit(doc));
  assert.deepEqual(back, doc);
  assert.ok(Object.isFrozen(back.world) && Object.isFrozen(back.players["a.b"]));
  assert.throws(() => decodeUnit('{"world":{}}'), /not a state unit/);
});
