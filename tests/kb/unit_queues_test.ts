import assert from "node:assert/strict";
import { UnitQueues } from "../../kb/state/unit_queues.ts";

Deno.test("unit queues: one drain per key, later items in its next step, a new drain once idle", async () => {
  const queues = new UnitQueues<number>();
  const steps: number[][] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const step = async (queue: number[]) => {
    const batch = queue.splice(0, queue.length);
    steps.push(batch);
    if (batch[0] === 1) await gate; // the first step waits while more queue up
  };
  queues.push("a", 1, step);
  queues.push("a", 2, step);
  queues.push("a", 3, step);
  queues.push("b", 10, step); // another key drains on its own
  release();
  await queues.settled();
  assert.deepEqual(steps, [[1], [10], [2, 3]]);
  queues.push("a", 4, step); // idle again: a new drain
  await queues.settled();
  assert.deepEqual(steps.at(-1), [4]);
});

Deno.test("unit queues: a step that rejects does not stop the drain", async () => {
  const queues = new UnitQueues<number>();
  const seen: number[] = [];
  const step = (queue: number[]): Promise<void> => {
    const [n] = queue.splice(0, 1);
    seen.push(n!);
    if (n !== 1) return Promise.resolve();
    queues.push("a", 2, step);
    return Promise.reject(new Error("the step settles its own items"));
  };
  queues.push("a", 1, step);
  await queues.settled();
  assert.deepEqual(seen, [1, 2]);
});
