import { applyOperations, applyWorldUpdate, joinPath, splitPath } from "../../shared/apply.ts";

function assertEquals(a: unknown, b: unknown, msg = "") {
  const x = JSON.stringify(a), y = JSON.stringify(b);
  if (x !== y) throw new Error(`${msg}\n${x}\n!==\n${y}`);
}

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
    let threw = false;
    try {
      applyOperations({}, [{ operation: "add", path, data: { polluted: true } }]);
    } catch {
      threw = true;
    }
    if (!threw) throw new Error(`accepted ${path}`);
  }
  // "__proto__.x" would set `x` on Object.prototype; "prototype" a key of that name.
  const probe = {} as Record<string, unknown>;
  if ("x" in probe || "polluted" in probe) throw new Error("prototype polluted");
});

Deno.test("remove under a missing parent changes nothing", () => {
  const target = { a: { c: 1 } };
  applyOperations(target, [{ operation: "remove", path: "a.b.c", data: {} }]);
  assertEquals(target, { a: { c: 1 } });
});
