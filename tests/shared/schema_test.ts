import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ChatRequestSchema,
  describeIssues,
  InteractReplySchema,
  isMessageTooLarge,
  MAX_MESSAGE_BYTES,
  StateOperationSchema,
  type WorldUpdateEvent,
  WorldUpdateEventSchema,
  worldUpdateJsonSchema,
} from "../../shared/schema.ts";

const op = fc.record({
  operation: fc.constantFrom("add", "remove", "update") as fc.Arbitrary<
    "add" | "remove" | "update"
  >,
  path: fc.string(),
  // zod drops a top-level `__proto__` key from records (tested separately below).
  data: fc.dictionary(fc.string().filter((k) => k !== "__proto__"), fc.jsonValue()),
});
const event: fc.Arbitrary<WorldUpdateEvent> = fc.record({
  type: fc.constant("world_update" as const),
  id: fc.string({ minLength: 1 }),
  experience: fc.string({ minLength: 1 }),
  user_id: fc.string(),
  version: fc.nat(),
  changes: fc.record({ world: fc.array(op), player: fc.array(op) }, { requiredKeys: [] }),
  timestamp: fc.double({ noNaN: true, noDefaultInfinity: true, min: 0 }),
  metadata: fc.record({
    source: fc.constant("kb" as const),
    state_model: fc.constantFrom("shared", "isolated") as fc.Arbitrary<"shared" | "isolated">,
    request_id: fc.string(),
  }),
});

Deno.test("WorldUpdateEvent survives JSON round trips", () => {
  fc.assert(
    fc.property(event, (e) => {
      const parsed = WorldUpdateEventSchema.parse(JSON.parse(JSON.stringify(e)));
      assert.deepEqual(JSON.parse(JSON.stringify(parsed)), JSON.parse(JSON.stringify(e)));
    }),
    { numRuns: 500 },
  );
});

Deno.test("WorldUpdateEvent rejects wrong types", () => {
  const good = {
    type: "world_update",
    id: "01J",
    experience: "x",
    user_id: "u",
    version: 1,
    changes: {},
    timestamp: 1,
    metadata: { source: "kb", state_model: "shared", request_id: "r" },
  };
  WorldUpdateEventSchema.parse(good);
  for (
    const bad of [
      { ...good, type: "other" },
      { ...good, version: -1 },
      { ...good, version: "1" },
      { ...good, changes: { world: [{ operation: "delete", path: "", data: {} }] } },
      { ...good, metadata: { ...good.metadata, state_model: "mixed" } },
    ]
  ) {
    assert.equal(WorldUpdateEventSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});

Deno.test("chat request: defaults, size limit, wrong types", () => {
  assert.equal(ChatRequestSchema.parse({ message: "look", experience: "w" }).stream, true);
  const big = "x".repeat(MAX_MESSAGE_BYTES + 1);
  assert.equal(ChatRequestSchema.safeParse({ message: big, experience: "w" }).success, false);
  assert.equal(ChatRequestSchema.safeParse({ message: 1, experience: "w" }).success, false);
});

Deno.test("reply union and JSON Schema export", () => {
  InteractReplySchema.parse({
    ok: false,
    request_id: "r",
    error: { code: "unknown_experience", message: "m", status: 404 },
  });
  const schema = worldUpdateJsonSchema();
  const props = (schema.properties ?? {}) as Record<string, unknown>;
  for (
    const k of [
      "type",
      "id",
      "experience",
      "user_id",
      "version",
      "changes",
      "timestamp",
      "metadata",
    ]
  ) {
    assert.ok(k in props, `JSON Schema lacks ${k}`);
  }
});

Deno.test("a __proto__ key in operation data is dropped, never applied to prototypes", () => {
  const raw = JSON.parse(
    '{"operation":"add","path":"x","data":{"__proto__":{"polluted":true},"ok":1}}',
  );
  const parsed = StateOperationSchema.parse(raw);
  assert.deepEqual(parsed.data, { ok: 1 });
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "prototype polluted");
});

Deno.test("too large is told by the issue, not its wording; one formatter for every issue", () => {
  const big = ChatRequestSchema.safeParse({
    message: "é".repeat(MAX_MESSAGE_BYTES / 2 + 1),
    experience: "w",
  });
  assert.ok(!big.success && isMessageTooLarge(big.error), "a 16 KiB+ message is too large");
  const typed = ChatRequestSchema.safeParse({ message: 5, experience: "w" });
  assert.ok(!typed.success && !isMessageTooLarge(typed.error), "a wrong type is not too large");
  // A message that merely mentions bytes is not mistaken for one over the limit.
  const empty = ChatRequestSchema.safeParse({ message: "", experience: ["bytes"] });
  assert.ok(!empty.success && !isMessageTooLarge(empty.error), "not too large");
  assert.equal(
    describeIssues(empty.error, "(body)"),
    "message: message must not be empty; experience: Invalid input: expected string, received array",
  );
  const root = ChatRequestSchema.safeParse(null);
  assert.ok(
    !root.success && describeIssues(root.error, "(body)").startsWith("(body): "),
    "a root issue is named by the root label",
  );
});
