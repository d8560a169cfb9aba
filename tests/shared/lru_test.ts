import { deepStrictEqual as eq, equal } from "node:assert/strict";
import fc from "fast-check";
import { LruMap } from "../../shared/lru.ts";

Deno.test("lru: past max the least recently used entry goes; get and set refresh, has and peek do not", () => {
  const evicted: string[] = [];
  const m = new LruMap<string, number>({ max: 3, onEvict: (v, k) => evicted.push(`${k}=${v}`) });
  m.set("a", 1).set("b", 2).set("c", 3);
  eq([...m.keys()], ["a", "b", "c"]);
  equal(m.get("a"), 1); // a is now the most recent
  equal(m.has("b"), true); // b stays the oldest
  equal(m.peek("b"), 2);
  m.set("d", 4);
  eq([...m], [["c", 3], ["a", 1], ["d", 4]]);
  eq(evicted, ["b=2"]);
  m.set("c", 30); // an existing key moves to the end with its new value
  eq([...m.entries()], [["a", 1], ["d", 4], ["c", 30]]);
  eq([...m.values()], [1, 4, 30]);
  equal(m.size, 3);
  eq(evicted, ["b=2"], "replacing a value is not an eviction");
});

Deno.test("lru: delete and clear do not call the eviction hook; missing keys are undefined", () => {
  let evictions = 0;
  const m = new LruMap<string, number | undefined>({ max: 2, onEvict: () => evictions++ });
  m.set("a", undefined);
  equal(m.get("a"), undefined);
  equal(m.has("a"), true, "an undefined value is still an entry");
  m.set("b", 2);
  m.get("a"); // refreshes even with an undefined value
  m.set("c", 3);
  eq([...m.keys()], ["a", "c"]);
  equal(evictions, 1);
  equal(m.get("zzz"), undefined);
  equal(m.delete("a"), true);
  equal(m.delete("a"), false);
  m.clear();
  equal(m.size, 0);
  equal(evictions, 1);
});

Deno.test("lru: entries mayEvict refuses stay past max until prune runs after their release", () => {
  const busy = new Set(["a", "b"]);
  const evicted: string[] = [];
  const m = new LruMap<string, string>({
    max: 2,
    mayEvict: (_v, k) => !busy.has(k),
    onEvict: (_v, k) => evicted.push(k),
  });
  m.set("a", "A").set("b", "B").set("c", "C");
  // a and b are in use: the oldest evictable entry is c itself.
  eq([...m.keys()], ["a", "b"]);
  eq(evicted, ["c"]);
  busy.add("d");
  m.set("d", "D");
  eq([...m.keys()], ["a", "b", "d"], "nothing evictable: over max");
  m.prune();
  equal(m.size, 3);
  busy.delete("b");
  m.prune();
  eq([...m.keys()], ["a", "d"]);
  eq(evicted, ["c", "b"]);
});

Deno.test("lru: a max below 1 keeps one entry", () => {
  const m = new LruMap<number, number>({ max: 0 });
  equal(m.max, 1);
  m.set(1, 1).set(2, 2);
  eq([...m.keys()], [2]);
});

Deno.test("lru: behaves like a reference model under random operations", () => {
  type Op = { kind: "get" | "set" | "delete" | "has"; key: number };
  const op = fc.record({
    kind: fc.constantFrom<Op["kind"]>("get", "set", "delete", "has"),
    key: fc.integer({ min: 0, max: 9 }),
  });
  fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.array(op), (max, ops) => {
    const m = new LruMap<number, number>({ max });
    let model: Array<[number, number]> = []; // oldest first
    ops.forEach((o, i) => {
      const at = model.findIndex(([k]) => k === o.key);
      if (o.kind === "get") {
        equal(m.get(o.key), at >= 0 ? model[at]![1] : undefined);
        if (at >= 0) model.push(...model.splice(at, 1));
      } else if (o.kind === "set") {
        if (at >= 0) model.splice(at, 1);
        model.push([o.key, i]);
        if (model.length > max) model = model.slice(model.length - max);
        m.set(o.key, i);
      } else if (o.kind === "delete") {
        equal(m.delete(o.key), at >= 0);
        if (at >= 0) model.splice(at, 1);
      } else {
        equal(m.has(o.key), at >= 0);
      }
      eq([...m], model);
    });
  }));
});
