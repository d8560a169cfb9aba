/**
 * The KB module: game logic and crash-safe world state. `main.ts` and tests
 * use only what is exported here.
 *
 * @example
 * ```ts
 * import { Kb, kbRoutes } from "./kb/mod.ts";
 * const kb = await Kb.create({ bus, dataDir: "./kb-data", stateDir: "./.state" });
 * kb.startResponder();
 * const routes = kbRoutes(kb, { auth: { secret }, actions });
 * ```
 *
 * @module
 */
export { Kb, type KbOptions } from "./kb.ts";
export { type KbRouteOptions, kbRoutes } from "./routes.ts";
export type { ExperienceInfo } from "./catalog.ts";
export type { EventPublisherStats } from "./event_publisher.ts";
