import assert from "node:assert/strict";
import fc from "fast-check";
import { VersionOrder } from "../../chat/version_order.ts";

Deno.test("version order: in order once, duplicates dropped, early ones held", () => {
  const o = new VersionOrder<string>();
  assert.deepEqual(o.offer(5, "e5"), ["e5"]);
  assert.deepEqual(o.offer(5, "e5 again"), []);
  assert.deepEqual(o.offer(7, "e7"), []);
  assert.equal(o.gapped, true);
  assert.equal(o.missing, 6);
  assert.deepEqual(o.offer(8, "e8"), []);
  assert.deepEqual(o.offer(6, "e6"), ["e6", "e7", "e8"]);
  assert.equal(o.gapped, false);
  assert.equal(o.last, 8);
  assert.deepEqual(o.offer(4, "old"), []);
});

Deno.test("version order: skipGap hands over what is held and moves on", () => {
  const o = new VersionOrder<number>({ last: 1 });
  assert.deepEqual(o.offer(4, 4), []);
  assert.deepEqual(o.offer(3, 3), []);
  assert.deepEqual(o.skipGap(), [3, 4]);
  assert.equal(o.last, 4);
  assert.deepEqual(o.offer(5, 5), [5]);
  assert.deepEqual(o.offer(2, 2), [], "a late arrival before the skipped gap stays out");
});

Deno.test("version order: anchor sets the start and drops held items it covers", () => {
  const o = new VersionOrder<number>();
  o.anchor(10);
  assert.deepEqual(o.offer(10, 10), []);
  assert.deepEqual(o.offer(12, 12), []);
  o.anchor(12);
  assert.equal(o.gapped, false);
  assert.deepEqual(o.offer(13, 13), [13]);
});

Deno.test("version order: the hold reports overflow at its bound", () => {
  const o = new VersionOrder<number>({ last: 0, maxHeld: 2 });
  o.offer(2, 2);
  assert.equal(o.overflowing, false);
  o.offer(3, 3);
  assert.equal(o.overflowing, true);
});

Deno.test("version order: any arrival order of 1..n, with repeats, delivers 1..n once in order", () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 40 }).chain((n) =>
      fc.tuple(
        fc.constant(n),
        fc.shuffledSubarray(Array.from({ length: n }, (_, i) => i + 1), {
          minLength: n,
          maxLength: n,
        }),
        fc.array(fc.integer({ min: 1, max: n }), { maxLength: 10 }),
      )
    ),
    ([n, order, repeats]) => {
      const o = new VersionOrder<number>({ last: 0 });
      const out: number[] = [];
      for (const v of [...order, ...repeats]) out.push(...o.offer(v, v));
      assert.deepEqual(out, Array.from({ length: n }, (_, i) => i + 1));
      assert.equal(o.gapped, false);
    },
  ));
});
