import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeSubjectToken,
  experienceSubject,
  fileNameFor,
  subjectToken,
  userSubject,
} from "../../shared/subjects.ts";

const VALID_TOKEN = /^[A-Za-z0-9_-]+$/;
const HOSTILE = [
  "",
  "*",
  ">",
  ".",
  "..",
  "a.b",
  "a",
  "a_2Eb",
  "_",
  "__",
  "player@example.com",
  "../x",
  "/",
  "\u0000",
  " ",
  "\t\n",
  "x".repeat(200),
  "Ødegård",
  "игрок",
  "🐉",
  "a b",
  "world.updates.>",
  "\ud800",
  "\udfff",
  "a\ud800b",
  "_SD800",
  // A decoder strips a leading byte-order mark unless told not to (found by fast-check in CI).
  "\ufeff",
  "\ufeffa",
  "a\ufeff",
];
const anyId = fc.oneof(
  fc.string({ unit: "binary" }),
  // Arbitrary UTF-16, lone surrogates included (JSON can carry them in `sub`).
  fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 12 }).map((units) =>
    String.fromCharCode(...units)
  ),
  fc.string({ unit: "grapheme" }),
  fc.constantFrom(...HOSTILE),
);

Deno.test("subjectToken is always exactly one valid token", () => {
  fc.assert(
    fc.property(anyId, (id) => {
      const t = subjectToken(id);
      assert.match(t, VALID_TOKEN, `token for ${JSON.stringify(id)}`);
      const subject = userSubject(id);
      assert.equal(subject.split(".").length, 4, `subject ${subject} has extra tokens`);
    }),
    { numRuns: 5000 },
  );
});

Deno.test("subjectToken round-trips, so it is injective", () => {
  fc.assert(
    fc.property(anyId, (id) => {
      assert.equal(decodeSubjectToken(subjectToken(id)), id, "round trip");
    }),
    { numRuns: 5000 },
  );
});

Deno.test("distinct ids give distinct tokens (pairs)", () => {
  fc.assert(
    fc.property(anyId, anyId, (a, b) => {
      if (a === b) return;
      assert.notEqual(subjectToken(a), subjectToken(b), `collision: ${a} / ${b}`);
    }),
    { numRuns: 5000 },
  );
  const tokens = new Set(HOSTILE.map(subjectToken));
  assert.equal(tokens.size, HOSTILE.length, "hostile ids collide");
});

Deno.test("hostile ids round-trip", () => {
  for (const id of HOSTILE) {
    assert.equal(decodeSubjectToken(subjectToken(id)), id, "round trip");
  }
});

Deno.test("subjects keep users and experiences apart", () => {
  assert.notEqual(userSubject("a.b"), userSubject("a"), "a.b vs a");
  assert.equal(userSubject("*"), "world.updates.user._2A");
  assert.equal(experienceSubject("wylding-woods"), "world.updates.experience.wylding-woods");
});

Deno.test("fileNameFor is safe and bounded", async () => {
  for (const id of [...HOSTILE, "é".repeat(200)]) {
    const name = await fileNameFor(id);
    assert.ok(/^[A-Za-z0-9_-]{1,160}$/.test(name) || /^_L[0-9a-f]{64}$/.test(name), name);
    assert.ok(name !== "." && name !== "..", "dot names");
  }
  assert.ok((await fileNameFor("é".repeat(200))).startsWith("_L"), "long ids hash");
});
