import { deepStrictEqual as assertEquals, ok, throws } from "node:assert/strict";
import {
  applyOperations,
  applyWorldUpdate,
  joinPath,
  RESERVED_SEGMENTS,
  splitPath,
  VersionGapError,
} from "../../shared/apply.ts";

Deno.test("path segments with dots and tildes stay whole", () => {
  for (const s of ["a.b", "~", "~1", "a~.b", "", "x"]) {
    assertEquals(splitPath(joinPath("players", s)), ["players", s]);
  }
});

Deno.test("add, remove and update apply as documented", () => {
  const snapshot = {
    experience: "w",
    state_model: "shared" as const,
    version: 3,
    world: { locations: { store: { items: { b1: { name: "Bottle" } } } } } as Record<
      string,
      unknown
    >,
    player: { location: "store", inventory: {} } as Record<string, unknown>,
  };
  const next = applyWorldUpdate(snapshot, {
    version: 4,
    changes: {
      world: [
        { operation: "remove", path: "locations.store.items.b1", data: {} },
        { operation: "update", path: joinPath("players", "a.b"), data: { location: "store" } },
      ],
      player: [
        { operation: "add", path: "inventory.b1", data: { name: "Bottle" } },
        { operation: "update", path: "", data: { location: "clearing" } },
      ],
    },
  });
  assertEquals(next.version, 4);
  assertEquals(next.world, {
    locations: { store: { items: {} } },
    players: { "a.b": { location: "store" } },
  });
  assertEquals(next.player, { location: "clearing", inventory: { b1: { name: "Bottle" } } });
  assertEquals(snapshot.version, 3, "input untouched");
  assertEquals((snapshot.world.locations as { store: { items: object } }).store.items, {
    b1: { name: "Bottle" },
  });
});

Deno.test("prototype paths are refused", () => {
  for (const path of ["__proto__.x", "a.constructor", "prototype"]) {
    throws(
      () => applyOperations({}, [{ operation: "add", path, data: { polluted: true } }]),
      /forbidden path segment/,
      `accepted ${path}`,
    );
  }
  // "__proto__.x" would set `x` on Object.prototype; "prototype" a key of that name.
  const probe = {} as Record<string, unknown>;
  ok(!("x" in probe) && !("polluted" in probe), "prototype polluted");
});

Deno.test("RESERVED_SEGMENTS is exactly what applyOperations refuses, at any depth", () => {
  assertEquals([...RESERVED_SEGMENTS].sort(), ["__proto__", "constructor", "prototype"]);
  for (const s of RESERVED_SEGMENTS) {
    for (const path of [joinPath(s), joinPath("a", s), joinPath("a", s, "b")]) {
      throws(() => applyOperations({}, [{ operation: "update", path, data: {} }]), Error, path);
    }
  }
  // Neighbours of the reserved names are ordinary segments.
  const target: Record<string, unknown> = {};
  applyOperations(target, [
    { operation: "add", path: joinPath("proto"), data: { a: 1 } },
    { operation: "add", path: joinPath("Constructor"), data: { a: 1 } },
  ]);
  assertEquals(Object.keys(target), ["proto", "Constructor"]);
});

Deno.test("remove under a missing parent changes nothing", () => {
  const target = { a: { c: 1 } };
  applyOperations(target, [{ operation: "remove", path: "a.b.c", data: {} }]);
  assertEquals(target, { a: { c: 1 } });
});

Deno.test("applyWorldUpdate: an event already in the snapshot changes nothing; a version jump throws", () => {
  const snapshot = { version: 5, world: { n: 5 } as Record<string, unknown>, player: {} };
  const bump = (version: number) => ({
    version,
    changes: { world: [{ operation: "update" as const, path: "", data: { n: version } }] },
  });
  assertEquals(applyWorldUpdate(snapshot, bump(5)), snapshot);
  ok(applyWorldUpdate(snapshot, bump(3)) === snapshot, "stale: the same snapshot back");
  const gap = (() => {
    try {
      applyWorldUpdate(snapshot, bump(7));
    } catch (e) {
      return e;
    }
  })();
  ok(gap instanceof VersionGapError, "a skipped version is a VersionGapError");
  assertEquals([gap.expected, gap.got], [6, 7]);
  assertEquals(applyWorldUpdate(snapshot, bump(6)).world, { n: 6 });
});
