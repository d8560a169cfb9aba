/**
 * A second KB process for the two-process contention test: serves kbRoutes
 * on a free port over the given KB_DATA_DIR and STATE_DIR and prints
 * `listening <port>`. Usage: `deno run -A tests/kb/kb_server.ts <dataDir> <stateDir>`
 */
import { Kb } from "../../kb/mod.ts";
import { InProcessBus } from "../../shared/bus/mod.ts";
import { setLogLevel } from "../../shared/log.ts";
import { buildApp } from "./_support.ts";

setLogLevel("error");
const bus = new InProcessBus();
const kb = await Kb.create({
  bus,
  dataDir: Deno.args[0]!,
  stateDir: Deno.args[1]!,
});
const server = Deno.serve({
  port: 0,
  hostname: "127.0.0.1",
  onListen: ({ port }) => console.log(`listening ${port}`),
}, buildApp(kb).fetch);
Deno.addSignalListener("SIGTERM", async () => {
  await server.shutdown();
  await kb.close();
  Deno.exit(0);
});
