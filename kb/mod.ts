/**
 * The KB module: game logic and crash-safe world state. `main.ts` and tests
 * use only what is exported here.
 *
 * @example
 * ```ts
 * import { Kb, kbRoutes } from "./kb/mod.ts";
 * const kb = await Kb.create({ bus, dataDir: "./kb-data", stateDir: "./.state", jwtSecret });
 * kb.startResponder();
 * app.route("/", kbRoutes(kb, { jwtSecret }));
 * ```
 *
 * @module
 */
export { Kb, type KbOptions } from "./kb.ts";
export { kbRoutes } from "./routes.ts";
export type { ExperienceInfo } from "./catalog.ts";
export type { BreakerState, PublisherStats } from "./publisher.ts";
