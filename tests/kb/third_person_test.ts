/**
 * The third-person line of an outcome (kb/third_person.ts), and that the
 * KB writes it into the events other players see.
 */
import assert from "node:assert/strict";
import { type Outcome, WorldUpdateEventSchema } from "../../shared/schema.ts";
import { thirdPersonLine } from "../../kb/third_person.ts";
import { GLADE, setup } from "../_helpers/mod.ts";

const outcome = (kind: string, summary: string, facts: Record<string, unknown> = {}): Outcome => ({
  kind,
  changed: true,
  summary,
  facts,
  needs_capable_model: false,
});

Deno.test("third person: the summary's first sentence, retold", () => {
  const cases: [Outcome, string][] = [
    [outcome("took", "You take the dream bottle."), "ada takes the dream bottle"],
    [outcome("moved", "You go north to the Old Store."), "ada goes north to the Old Store"],
    [outcome("opened", "You open the thorn door. Beyond it, a path."), "ada opens the thorn door"],
    [outcome("put", "You put the stone in your sack."), "ada puts the stone in their sack"],
    [outcome("lit", "You light the lamp!"), "ada lights the lamp"],
    [
      outcome("gave", 'You give the acorn to Owl. "Thank you," says Owl.'),
      "ada gives the acorn to Owl",
    ],
    [
      outcome("used", "The door swings open as you turn the key.", { item: { name: "key" } }),
      "ada uses key",
    ],
    [outcome("odd", "Something happens."), "ada does something"],
    [outcome("reset", "The world is back as it began."), "the world is back as it began"],
  ];
  for (const [o, line] of cases) assert.equal(thirdPersonLine(o, "ada"), line);
  const long = thirdPersonLine(outcome("took", `You take ${"a".repeat(400)}.`), "ada")!;
  assert.equal([...long].length, 200);
  // The longest name in emoji still makes a line the event schema accepts.
  const emoji = thirdPersonLine(
    outcome("took", `You take ${"🙂".repeat(400)}.`),
    "🙂".repeat(128),
  )!;
  assert.equal([...emoji].length, 200);
  assert.ok(WorldUpdateEventSchema.shape.third_person.safeParse(emoji).success);
});

Deno.test("third person: world updates carry the line; a conversation-only event does not", async () => {
  await using h = await setup({ content: "glade" });
  const bob = await h.world("bob", GLADE.shared);
  assert.equal((await h.act("ann", "take lamp", GLADE.shared)).status, 200);
  assert.equal((await h.act("ann", "north", GLADE.shared)).status, 200);
  const seen = (await bob.take(2)).map((m) => m.data.third_person);
  assert.deepEqual(seen, ["ann takes the lamp", "ann goes north to the old store"]);
  const look = await h.act("ann", "look", GLADE.shared);
  for (const e of look.body.world_updates) assert.equal(e.third_person, undefined);
  await bob.close();
});
