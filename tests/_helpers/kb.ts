/**
 * A KB on its own bus connection, as a separate KB process would run it (a
 * second KB of a cluster, or the KB behind a `ROLE=chat` process), without
 * an HTTP app around it. Two of them may share one `STATE_DIR`.
 *
 * @module
 */
import { Kb, type KbOptions } from "../../kb/mod.ts";
import { type Bus, InProcessBus, NatsBus } from "../../shared/bus/mod.ts";
import { SHIPPED_DATA_DIR } from "./content.ts";

/** Options of {@linkcode startKb}. */
export interface StartKbOptions extends Partial<Omit<KbOptions, "bus">> {
  /** Connect to this NATS URL (own connection); else `bus`, else an in-process bus. */
  natsUrl?: string;
  /** A bus to use (not closed by `dispose`). */
  bus?: Bus;
  /** Answer `kb.interact` and `kb.experiences` on the bus (default true). */
  responder?: boolean;
  /** Base reconnect wait of its own NATS connection (ms, default 100). */
  reconnectTimeWaitMs?: number;
}

/** A running separate KB. */
export interface SeparateKb extends AsyncDisposable {
  readonly kb: Kb;
  readonly bus: Bus;
  readonly stateDir: string;
  /** Closes the KB, then the bus if it opened it, then removes a temp `STATE_DIR` it made. */
  dispose(): Promise<void>;
}

/**
 * Starts a KB (shipped content and a temp `STATE_DIR` unless given).
 *
 * @example
 * ```ts
 * await using other = await startKb({ natsUrl: nats.url, stateDir: stack.stateDir });
 * await other.kb.interact({ request_id: "r1", user_id: "ann", experience: "glade", message: "north" });
 * ```
 */
export async function startKb(opts: StartKbOptions = {}): Promise<SeparateKb> {
  const ownDir = opts.stateDir ? undefined : await Deno.makeTempDir({ prefix: "gaia-kb-" });
  const stateDir = opts.stateDir ?? `${ownDir}/state`;
  const bus = opts.bus ?? (opts.natsUrl
    ? await NatsBus.connect(opts.natsUrl, {
      name: "gaia-test-kb",
      reconnectTimeWaitMs: opts.reconnectTimeWaitMs ?? 100,
    })
    : new InProcessBus());
  let kb: Kb;
  try {
    kb = await Kb.create({ ...opts, bus, dataDir: opts.dataDir ?? SHIPPED_DATA_DIR, stateDir });
  } catch (e) {
    if (!opts.bus) await bus.close();
    if (ownDir) await Deno.remove(ownDir, { recursive: true });
    throw e;
  }
  if (opts.responder ?? true) kb.startResponder();
  let disposing: Promise<void> | undefined;
  const dispose = () =>
    disposing ??= (async () => {
      await kb.close();
      if (!opts.bus) await bus.close();
      if (ownDir) await Deno.remove(ownDir, { recursive: true }).catch(() => {});
    })();
  return { kb, bus, stateDir, dispose, [Symbol.asyncDispose]: dispose };
}
