import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { MAX_MESSAGE_BYTES } from "../../shared/schema.ts";
import { settledTree, setup, SHIPPED_DATA_DIR, type TestStack, tree } from "../_helpers/mod.ts";

/** The KB process (ROLE=kb) as main.ts builds it, asked with `app.request()`. */
const kbProcess = () => setup({ role: "kb", nats: "in-process", serve: false });

const HOSTILE_EXPERIENCES = [
  "../x",
  "/",
  "..",
  ".",
  "\u0000",
  "wylding-woods\u0000",
  "wylding-woods/../drowned-lighthouse",
  "../../../../etc/passwd",
  "WYLDING-WOODS",
  " wylding-woods",
  "",
  "x".repeat(10_000),
];

async function post(h: TestStack, headers: Record<string, string>, body: string) {
  const res = await h.fetch("/kb/experience/interact", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body,
  });
  return { status: res.status, body: await res.json() };
}

Deno.test("bad input: hostile ids, oversize, malformed and unauthenticated requests are clear 4xx and change nothing", async () => {
  await using fx = await kbProcess();
  {
    eq((await fx.interact("ann", "take lantern", "wylding-woods")).status, 200);
    const before = await settledTree(fx.root);
    const dataBefore = await tree(SHIPPED_DATA_DIR);
    const ann = { Authorization: `Bearer ${await fx.token("ann")}` };

    for (const experience of HOSTILE_EXPERIENCES) {
      const r = await fx.interact("ann", "take lantern", experience);
      eq(
        [r.status, (r.body.error as { code: string }).code],
        [404, "unknown_experience"],
        JSON.stringify(experience),
      );
      const s = await fx.fetch(
        `/api/v0.3/world/state?experience=${encodeURIComponent(experience)}`,
        { headers: ann },
      );
      eq([s.status, (await s.json()).error.code], [404, "unknown_experience"]);
      const direct = await fx.kb.interact({
        request_id: "r",
        user_id: "ann",
        experience,
        message: "look",
      });
      eq(direct.ok ? 200 : direct.error.status, 404);
    }

    const big = "x".repeat(MAX_MESSAGE_BYTES + 1);
    const oversize = await fx.interact("ann", big, "wylding-woods");
    eq(oversize.status, 413);
    const direct = await fx.kb.interact({
      request_id: "r",
      user_id: "ann",
      experience: "wylding-woods",
      message: big,
    });
    eq(direct.ok ? undefined : [direct.error.code, direct.error.status], [
      "message_too_large",
      413,
    ]);
    const multibyte = "é".repeat(MAX_MESSAGE_BYTES / 2 + 1); // under 16 Ki characters, over 16 KiB
    const mb = await fx.kb.interact({
      request_id: "r",
      user_id: "ann",
      experience: "wylding-woods",
      message: multibyte,
    });
    eq(mb.ok ? undefined : mb.error.status, 413);

    for (
      const body of [
        "{not json",
        "[]",
        "null",
        JSON.stringify({ message: 5, experience: "wylding-woods" }),
        JSON.stringify({ experience: "wylding-woods" }),
        JSON.stringify({ message: "", experience: "wylding-woods" }),
      ]
    ) {
      const r = await post(fx, ann, body);
      eq([r.status, r.body.error.code], [400, "bad_request"], body);
    }
    const badAuth: Record<string, string>[] = [{}, { Authorization: "Bearer nope" }, {
      Authorization: "Basic abc",
    }];
    for (const headers of badAuth) {
      const r = await post(
        fx,
        headers,
        JSON.stringify({ message: "take lantern", experience: "wylding-woods" }),
      );
      eq([r.status, r.body.error.code], [401, "unauthorized"]);
    }
    const s = await fx.fetch("/api/v0.3/world/state", { headers: ann });
    eq([s.status, (await s.json()).error.code], [400, "bad_request"]);
    const noAuth = await fx.fetch("/api/v0.3/world/state?experience=wylding-woods");
    eq([noAuth.status, (await noAuth.json()).error.code], [401, "unauthorized"]);

    for (const user of ["constructor", "prototype", "__proto__"]) {
      const r = await fx.interact(user, "north", "wylding-woods");
      eq([r.status, (r.body.error as { code: string }).code], [400, "reserved_user_id"], user);
    }

    // Unchanged actions write nothing either.
    for (const m of ["look", "xyzzy", "take the moon", "talk to woander", "inventory"]) {
      eq((await fx.interact("newcomer", m, "wylding-woods")).status, 200);
    }
    await fx.state("never-acted", "drowned-lighthouse");
    eq(await tree(fx.root), before);
    eq(await tree(SHIPPED_DATA_DIR), dataBefore);
  }
});

Deno.test("bad input: path-like user ids are ordinary players whose files stay inside STATE_DIR", async () => {
  await using fx = await kbProcess();
  {
    const users = [
      "../../escape",
      "/etc/passwd",
      "..",
      ".",
      "a/b",
      "*",
      ">",
      "\u00e9l\u00e8ve",
      "x".repeat(256),
    ];
    for (const u of users) {
      for (const experience of ["wylding-woods", "drowned-lighthouse"]) {
        const r = await fx.interact(u, "north", experience);
        eq([r.status, (r.body.outcome as { kind: string }).kind], [200, "moved"], u);
        eq((await fx.state(u, experience)).player.name, u);
      }
    }
    eq([...Deno.readDirSync(fx.root)].map((e) => e.name), ["state"]);
    const files = Object.keys(await tree(fx.stateDir));
    ok(files.every((f) => !f.split("/").some((seg) => seg === ".." || seg === ".")));
    const shared = files.filter((f) =>
      /^experiences\/wylding-woods\/players\/[^/]+\.json$/.test(f)
    );
    eq(shared.length, users.length); // one profile per user, none collided
    const snap = await fx.state("*", "wylding-woods");
    eq(Object.keys(snap.world.players).length, users.length);
  }
});
