/**
 * `deno task state:copy`: copies the KB's state between backends (see
 * `kb/state/copy.ts`). Stop the KBs first.
 *
 * ```
 * deno task state:copy --to=nats  --state-dir=./.state --nats-url=nats://n1:4222 [--data-dir=./kb-data] [--replicas=3] [--force]
 * deno task state:copy --to=files --state-dir=./restored --nats-url=nats://n1:4222
 * ```
 *
 * Prints one JSON line: the units copied (with their versions) and those
 * left alone because the target had them.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { NatsBus } from "../shared/bus/mod.ts";
import { Catalog } from "./catalog.ts";
import { copyFilesToNats, copyNatsToFiles, type CopyReport } from "./state/mod.ts";

/**
 * Runs the copy the arguments describe.
 *
 * @example
 * ```ts
 * const report = await stateCopy(["--to=nats", "--state-dir=./.state", "--nats-url=nats://127.0.0.1:4222"]);
 * ```
 */
export async function stateCopy(args: string[]): Promise<CopyReport> {
  const { values } = parseArgs({
    args,
    options: {
      to: { type: "string" },
      "state-dir": { type: "string" },
      "nats-url": { type: "string" },
      "data-dir": { type: "string", default: "./kb-data" },
      replicas: { type: "string" },
      force: { type: "boolean", default: false },
    },
  });
  const to = values.to;
  const stateDir = values["state-dir"];
  const natsUrl = values["nats-url"];
  if ((to !== "nats" && to !== "files") || !stateDir || !natsUrl) {
    throw new Error(
      "usage: state:copy --to=nats|files --state-dir=DIR --nats-url=URL [--data-dir=DIR] [--replicas=N] [--force]",
    );
  }
  const replicas = values.replicas ? Number(values.replicas) : undefined;
  if (replicas !== undefined && !(Number.isInteger(replicas) && replicas >= 1 && replicas <= 5)) {
    throw new Error(`--replicas must be 1 to 5 (got ${values.replicas})`);
  }
  const catalog = await Catalog.load(values["data-dir"]!);
  const bus = await NatsBus.connect(natsUrl, { name: "gaia-state-copy" });
  try {
    const open = (name: string, singleKey: boolean) => bus.kv({ name, singleKey, replicas });
    const experiences = catalog.list();
    return to === "nats"
      ? await copyFilesToNats(stateDir, experiences, open, { force: values.force })
      : await copyNatsToFiles(experiences, open, stateDir, { force: values.force });
  } finally {
    await bus.close();
  }
}

if (import.meta.main) {
  try {
    console.log(JSON.stringify(await stateCopy(Deno.args)));
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    Deno.exit(2);
  }
}
