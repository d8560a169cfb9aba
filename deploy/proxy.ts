/**
 * A small reverse proxy for hosts without nginx: the split-role routing of
 * `nginx.conf.example` (world state, the experience list and `/kb/*` to the
 * KB processes, everything else, chat and world streams included, to the
 * chat processes), round robin over the upstreams that answer `/ready`
 * with 200. Responses stream through unbuffered, so SSE reaches the client
 * event by event; `X-Request-Id` and `Last-Event-ID` pass through.
 *
 * As a program:
 *
 * ```sh
 * deno run --allow-net deploy/proxy.ts --port 8080 \
 *   --kb http://127.0.0.1:8001,http://127.0.0.1:8002 \
 *   --chat http://127.0.0.1:8101,http://127.0.0.1:8102
 * ```
 *
 * @module
 */

/** Options of {@linkcode startProxy}. */
export interface ProxyOptions {
  /** Listen port (0: a free one). */
  port: number;
  /** Listen address (default 127.0.0.1). */
  hostname?: string;
  /** Base URLs of the `ROLE=kb` processes. */
  kb: string[];
  /** Base URLs of the `ROLE=chat` processes. */
  chat: string[];
  /** How often each upstream's `/ready` is probed (ms, default 2 s). */
  probeIntervalMs?: number;
}

/** A running proxy. */
export interface RunningProxy {
  readonly url: string;
  readonly port: number;
  /** Upstreams that answered their last `/ready` probe with 200. */
  ready(): string[];
  /** Stops probing and serving (open streams end). */
  close(): Promise<void>;
}

/** Routes the KB serves in a split deployment (nginx.conf.example's split-roles block). */
const KB_PATHS = new Set([
  "/api/v0.3/world/state",
  "/api/v0.3/world/describe",
  "/api/v0.3/experiences",
]);

/**
 * Which pool a path goes to.
 *
 * @example
 * ```ts
 * poolFor("/api/v0.3/world/state"); // "kb"
 * poolFor("/api/v0.3/world/stream"); // "chat"
 * ```
 */
export function poolFor(path: string): "kb" | "chat" {
  return path.startsWith("/kb/") || KB_PATHS.has(path) ? "kb" : "chat";
}

/** Hop-by-hop headers a proxy must not forward (RFC 9110 section 7.6.1). */
const HOP_BY_HOP = ["connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer"];

function forwardHeaders(from: Headers, extra: Record<string, string> = {}): Headers {
  const h = new Headers(from);
  for (const name of HOP_BY_HOP) h.delete(name);
  for (const [k, v] of Object.entries(extra)) h.set(k, v);
  return h;
}

/**
 * Starts the proxy and its `/ready` probes.
 *
 * @example
 * ```ts
 * const proxy = await startProxy({ port: 0, kb: [kbUrl], chat: [chatUrl] });
 * console.log(proxy.url);
 * await proxy.close();
 * ```
 */
export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const healthy = new Set<string>();
  const all = { kb: opts.kb, chat: opts.chat };
  const turn = { kb: 0, chat: 0 };
  let closed = false;

  const probe = async (upstream: string) => {
    try {
      const res = await fetch(`${upstream}/ready`, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      if (res.ok) healthy.add(upstream);
      else healthy.delete(upstream);
    } catch {
      healthy.delete(upstream);
    }
  };
  const probeAll = () => Promise.all([...opts.kb, ...opts.chat].map(probe));
  await probeAll();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = () => {
    if (closed) return;
    timer = setTimeout(() => probeAll().finally(schedule), opts.probeIntervalMs ?? 2_000);
  };
  schedule();

  /** The next ready upstream of the pool, round robin; any upstream when none is ready. */
  const pick = (pool: "kb" | "chat"): string | undefined => {
    const list = all[pool];
    for (let i = 0; i < list.length; i++) {
      const candidate = list[(turn[pool] + i) % list.length]!;
      if (healthy.has(candidate)) {
        turn[pool] = (turn[pool] + i + 1) % list.length;
        return candidate;
      }
    }
    return undefined;
  };

  const handler = async (req: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    const url = new URL(req.url);
    const pool = poolFor(url.pathname);
    const upstream = pick(pool);
    if (!upstream) {
      return Response.json(
        { error: { code: "no_upstream", message: `no ${pool} process is ready` } },
        { status: 503 },
      );
    }
    const remote = (info.remoteAddr as Deno.NetAddr).hostname;
    try {
      const res = await fetch(`${upstream}${url.pathname}${url.search}`, {
        method: req.method,
        headers: forwardHeaders(req.headers, {
          "X-Forwarded-For": remote,
          "X-Forwarded-Host": url.host,
        }),
        body: req.body,
        redirect: "manual",
        signal: req.signal,
      });
      return new Response(res.body, {
        status: res.status,
        statusText: res.statusText,
        headers: forwardHeaders(res.headers),
      });
    } catch {
      healthy.delete(upstream);
      return Response.json(
        { error: { code: "bad_gateway", message: `${pool} process did not answer` } },
        { status: 502 },
      );
    }
  };

  const server = Deno.serve({
    port: opts.port,
    hostname: opts.hostname ?? "127.0.0.1",
    onListen: () => {},
  }, handler);
  const port = server.addr.port;
  return {
    url: `http://${opts.hostname ?? "127.0.0.1"}:${port}`,
    port,
    ready: () => [...healthy],
    async close() {
      closed = true;
      clearTimeout(timer);
      await server.shutdown();
    },
  };
}

function argList(args: string[], name: string): string[] {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]!.split(",").map((s) => s.trim()).filter(Boolean) : [];
}

if (import.meta.main) {
  const port = Number(argList(Deno.args, "--port")[0] ?? 8080);
  const kb = argList(Deno.args, "--kb");
  const chat = argList(Deno.args, "--chat");
  if (kb.length === 0 || chat.length === 0 || !Number.isInteger(port)) {
    console.error("usage: proxy.ts --port 8080 --kb URL[,URL] --chat URL[,URL]");
    Deno.exit(2);
  }
  const proxy = await startProxy({ port, kb, chat, hostname: argList(Deno.args, "--host")[0] });
  console.log(`proxy listening on ${proxy.url}`);
  const stop = async () => {
    await proxy.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
