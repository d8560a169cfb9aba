/**
 * Authoring tools: the committed JSON Schemas match the zod schemas, every
 * shipped file (and the authoring guide's example) passes its JSON Schema
 * as an editor would check it, and `deno task validate` prints every
 * problem of a broken experience and exits 1.
 *
 * @module
 */
import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import { contentJsonSchemas } from "../../kb/content_schema.ts";
import { CONTENT_FILES, loadExperience } from "../../kb/content.ts";
import { SHIPPED_DATA_DIR as DATA_DIR } from "../_helpers/mod.ts";
import { Sim } from "./_sim.ts";

const SCHEMA_DIR = `${DATA_DIR}/schema`;
const EXAMPLES = `${DATA_DIR}/examples`;
const ROOT = new URL("../../", import.meta.url).pathname;

async function validate(dir: string): Promise<{ code: number; out: string[]; err: string }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", "validate", dir],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await cmd.output();
  const out = new TextDecoder().decode(stdout).split("\n").filter(Boolean);
  return { code, out, err: new TextDecoder().decode(stderr) };
}

Deno.test("authoring: the committed JSON Schemas are the zod schemas' (run `deno task schema` if not)", async () => {
  for (const [name, schema] of Object.entries(contentJsonSchemas())) {
    const committed = JSON.parse(await Deno.readTextFile(`${SCHEMA_DIR}/${name}`));
    eq(committed, schema, `kb-data/schema/${name} is out of date: run deno task schema`);
  }
});

Deno.test("authoring: every shipped file passes the JSON Schema its $schema names", async () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const dirs = [
    `${DATA_DIR}/experiences/wylding-woods`,
    `${DATA_DIR}/experiences/drowned-lighthouse`,
    `${EXAMPLES}/experiences/first-light`,
  ];
  for (const dir of dirs) {
    for (const file of Object.values(CONTENT_FILES)) {
      const doc = JSON.parse(await Deno.readTextFile(`${dir}/${file}`));
      const schemaPath = new URL(doc.$schema, `file://${dir}/${file}`).pathname;
      eq(schemaPath, `${SCHEMA_DIR}/${file.replace(".json", ".schema.json")}`, `${dir}/${file}`);
      const check = ajv.compile(JSON.parse(await Deno.readTextFile(schemaPath)));
      ok(check(doc), `${dir}/${file}: ${JSON.stringify(check.errors)}`);
    }
  }
  // An editor flags a misspelt key as you type.
  const items = ajv.compile(contentJsonSchemas()["items.schema.json"]!);
  ok(!items({ lamp: { nmae: "lamp", description: "A lamp.", location: "hall" } }));
});

Deno.test("authoring: the guide's example experience loads and can be finished", async () => {
  const exp = await loadExperience(EXAMPLES, "first-light");
  const sim = new Sim(exp);
  // The walkthrough AUTHORING.md gives.
  const steps = [
    "e",
    "take apple",
    "w",
    "give apple to mrs pennock",
    "e",
    "unlock door. open door",
    "in",
    "light lamp",
    "read note",
    "take scissors",
    "use scissors on lamp",
    "light lamp",
  ];
  for (const m of steps) sim.run(m);
  eq(sim.player().ending?.id, "first-light");
  eq(
    sim.say("score"),
    'You have 4 of 4 points. Reached: Bring Mrs Pennock an apple, Get into the shed and Light the lamp. You reached the ending "First Light".',
  );
});

const BROKEN_SCHEMA = {
  "experience.json": JSON.stringify({
    name: "Bad",
    descripton: "misspelt",
    state: { model: "solo" },
    start: "hall",
    goals: { win: { title: "Win", when: { holds: "crown", falg: "x" } } },
  }),
  "locations.json": JSON.stringify({
    hall: { name: "Hall", description: "A hall.", exits: { north: "hall", sideways: "hall" } },
  }),
  "items.json": JSON.stringify({
    lamp: { nmae: "lamp", description: "A lamp.", location: "hall" },
    Box: { name: "box", description: "A box.", location: "hall" },
  }),
  "npcs.json": '{ "elf": ',
};

const BROKEN_REFS = {
  "experience.json": JSON.stringify({
    name: "Refs",
    description: "Every file parses; the references do not hold.",
    state: { model: "shared" },
    start: "nowhere",
    goals: { win: { title: "Win", when: { holds: "crown", any: [{ goal: "lose" }] } } },
  }),
  "locations.json": JSON.stringify({
    hall: {
      name: "Hall",
      description: "A hall.",
      exits: { north: "attic", up: { to: "hall", door: "lamp" } },
    },
  }),
  "items.json": JSON.stringify({
    lamp: {
      name: "lamp",
      description: "A lamp.",
      held_by: "elf",
      availability: "respawning",
    },
    coin: {
      name: "coin",
      description: "A coin.",
      location: "hall",
      uses: { anvil: { text: "Clang." } },
    },
  }),
  "npcs.json": JSON.stringify({
    elf: {
      name: "Elf",
      description: "An elf.",
      location: "hall",
      greeting: "Hi.",
      wants: { coin: { reply: "Ta.", reward: "coin" } },
    },
  }),
};

Deno.test("authoring: deno task validate prints every problem of a broken experience and exits 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "validate-" });
  try {
    for (const [id, files] of [["bad-schema", BROKEN_SCHEMA], ["bad-refs", BROKEN_REFS]] as const) {
      await Deno.mkdir(`${dir}/experiences/${id}`, { recursive: true });
      for (const [name, text] of Object.entries(files)) {
        await Deno.writeTextFile(`${dir}/experiences/${id}/${name}`, text);
      }
    }
    const r = await validate(dir);
    eq(r.code, 1, r.err);
    const e = `${dir}/experiences`;
    eq(r.out, [
      `${e}/bad-refs/experience.json: at 'start': unknown location 'nowhere'`,
      `${e}/bad-refs/experience.json: at 'goals.win.when.holds': unknown item 'crown'`,
      `${e}/bad-refs/experience.json: at 'goals.win.when.any.0.goal': unknown goal 'lose'`,
      `${e}/bad-refs/locations.json: at 'hall.exits.north': unknown location 'attic'`,
      `${e}/bad-refs/locations.json: at 'hall.exits.up.door': 'lamp' must be an openable, not portable item at 'hall'`,
      `${e}/bad-refs/items.json: at 'lamp.availability': a respawning item starts at a location`,
      `${e}/bad-refs/items.json: at 'coin.uses.anvil': unknown item 'anvil'`,
      `${e}/bad-refs/npcs.json: at 'elf.wants.coin.reward': reward 'coin' must be an item held_by 'elf'`,
      `${e}/bad-schema/experience.json: at 'description': Invalid input: expected string, received undefined`,
      `${e}/bad-schema/experience.json: at 'state.model': Invalid option: expected one of "shared"|"isolated"`,
      `${e}/bad-schema/experience.json: at 'goals.win.when': unknown key 'falg' (did you mean 'flag'?)`,
      `${e}/bad-schema/experience.json: at '(root)': unknown key 'descripton' (did you mean 'description'?)`,
      `${e}/bad-schema/locations.json: at 'hall.exits': unknown key 'sideways'`,
      `${e}/bad-schema/items.json: at 'lamp.name': Invalid input: expected string, received undefined`,
      `${e}/bad-schema/items.json: at 'lamp': unknown key 'nmae' (did you mean 'name'?)`,
      `${e}/bad-schema/items.json: at 'Box': Invalid key in record: ids use only a-z, 0-9 and '-' and start with a letter or digit`,
      `${e}/bad-schema/npcs.json: at '(root)': invalid JSON: Unexpected end of JSON input`,
    ]);
    ok(r.err.includes("2 experiences, 17 problems"), r.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("authoring: deno task validate passes the shipped content and the guide's example", async () => {
  for (const dir of [DATA_DIR, EXAMPLES, `${EXAMPLES}/experiences/first-light`]) {
    const r = await validate(dir);
    eq([r.code, r.out], [0, []], r.err);
  }
});
