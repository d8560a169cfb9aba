/**
 * Browser-test plumbing: Debian's Chromium driven by `playwright-core`
 * (never a downloaded browser), the page's `window.__gaia` measurements,
 * keyboard-driven sign-in and commands, screenshots into `tests/artifacts/`.
 *
 * In-page code that needs the DOM is passed as strings: these files are
 * type-checked against Deno's libs, which have no `document`.
 *
 * @module
 */
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from "playwright-core";

/** Where screenshots and measurements go (git-ignored). */
export const ARTIFACTS = new URL("../artifacts/", import.meta.url);

/** Debian's Chromium; override with `CHROMIUM_BIN`. */
export const CHROMIUM = Deno.env.get("CHROMIUM_BIN") ?? "/usr/bin/chromium";

/**
 * Launches headless Chromium with flags fit for CI on a small machine.
 *
 * @example
 * ```ts
 * const browser = await launchBrowser();
 * try { ... } finally { await browser.close(); }
 * ```
 */
export function launchBrowser(): Promise<Browser> {
  try {
    Deno.statSync(CHROMIUM);
  } catch {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` ` +
        "(or set CHROMIUM_BIN); never download a browser for these tests",
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Two players' pages, each in its own browser context; see {@linkcode twoPlayers}. */
export interface TwoPlayers {
  /** Both contexts, for the caller's `finally` (close them). */
  contexts: BrowserContext[];
  /** Player A: a 960×760 desktop window. */
  a: Page;
  /** Player B: the context `bOptions` describes (a phone, usually). */
  b: Page;
  /** Page errors and console errors of both, prefixed `A:` / `B:` (assert it stays empty). */
  errors: string[];
}

/**
 * Opens two players' pages in separate contexts (separate storage, as two
 * people would be) and records their page and console errors.
 *
 * @example
 * ```ts
 * const { contexts, a, b, errors } = await twoPlayers(browser, { viewport: { width: 390, height: 844 } });
 * try { ... assert.deepEqual(errors, []); } finally { for (const c of contexts) await c.close(); }
 * ```
 */
export async function twoPlayers(
  browser: Browser,
  bOptions: BrowserContextOptions,
): Promise<TwoPlayers> {
  const ctxA = await browser.newContext({ viewport: { width: 960, height: 760 } });
  const ctxB = await browser.newContext(bOptions);
  const a = await ctxA.newPage();
  const b = await ctxB.newPage();
  const errors: string[] = [];
  for (const [who, page] of [["A", a], ["B", b]] as const) {
    page.on("pageerror", (e) => errors.push(`${who}: ${e.message}`));
    page.on("console", (m) => {
      // Chromium logs every request that fails while a test has set the
      // context offline; that is the test's cut, not the page's error.
      if (m.type() !== "error" || m.text().includes("net::ERR_INTERNET_DISCONNECTED")) return;
      errors.push(`${who}: ${m.text()}`);
    });
  }
  return { contexts: [ctxA, ctxB], a, b, errors };
}

/** One painted world update, as recorded by the page. */
export interface Paint {
  id: string;
  version: number;
  user: string;
  /** Which stream delivered it first: `chat`, `stream` (or `snapshot`). */
  source: string;
  commitAt: number;
  /** When the page got the event (first copy). */
  receivedAt: number;
  renderedAt: number;
  paintedAt: number;
  latencyMs: number;
}

/** One command, as recorded by the page. */
export interface CommandRecord {
  message: string;
  submittedAt: number;
  eventIds: string[];
  firstContentAt: number | null;
  doneAt: number | null;
  error: string | null;
}

/** `window.__gaia` of the client. */
export interface Gaia {
  user: string | null;
  experience: string | null;
  connection: "live" | "reconnecting" | "offline";
  connectionLog: { state: string; at: number }[];
  version: number | null;
  firstContentAt: number | null;
  paints: Paint[];
  commands: CommandRecord[];
  resyncs: { reason: string; at: number }[];
  stats: Record<string, number> | null;
  /** User ids present (from `presence` events). */
  present: string[];
  /** `say` events heard: the event, when it arrived and when it was painted. */
  heard: Heard[];
}

/** One `say` event as the page recorded it. */
export interface Heard {
  user_id: string;
  name: string;
  kind: "say" | "emote";
  text: string;
  receivedAt: number;
  paintedAt?: number;
}

/** What the test reads of the page's globals. */
export interface PageGlobals {
  __gaia: Gaia;
}

/** Reads `window.__gaia`. */
export function gaia(page: Page): Promise<Gaia> {
  return page.evaluate("JSON.parse(JSON.stringify(window.__gaia))") as Promise<Gaia>;
}

/** Saves a screenshot to `tests/artifacts/<name>.png`. */
export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: new URL(`${name}.png`, ARTIFACTS).pathname });
}

/** Waits until the connection badge shows `state`. */
export async function waitForConnection(page: Page, state: string, timeout = 15_000) {
  await page.waitForSelector(`#connection[data-state="${state}"]`, { timeout });
}

/**
 * Signs in with the keyboard alone: the name field has focus on load, Enter
 * submits with the default experience (the shared `wylding-woods`). Waits
 * for a live stream and a rendered snapshot.
 */
export async function signIn(page: Page, url: string, name: string): Promise<void> {
  await page.goto(`${url}/`);
  await page.waitForSelector('input[name="experience"][value="wylding-woods"]:checked');
  const focused = await page.evaluate("document.activeElement && document.activeElement.id");
  if (focused !== "name") throw new Error(`expected focus on #name, got ${focused}`);
  await page.keyboard.type(name);
  await page.keyboard.press("Enter");
  await waitReady(page);
}

/** Waits for the live badge and a rendered snapshot. */
export async function waitReady(page: Page): Promise<void> {
  await waitForConnection(page, "live");
  await page.waitForFunction(() => {
    const g = (globalThis as unknown as PageGlobals).__gaia;
    return g.version !== null && g.firstContentAt !== null;
  });
}

/** Item keys (`data-key`) of one list: `items`, `inventory`, `people`, `exits`. */
export function listKeys(page: Page, list: string): Promise<string[]> {
  return page.evaluate(
    `[...document.querySelectorAll("#${list} > li")].map((li) => li.dataset.key)`,
  ) as Promise<string[]>;
}

/**
 * Types a command into the focused command box, presses Enter and waits
 * until its chat stream is done; returns the page's record of it.
 */
export async function act(page: Page, message: string): Promise<CommandRecord> {
  const before = (await gaia(page)).commands.length;
  await page.focus("#command");
  await page.keyboard.type(message);
  await page.keyboard.press("Enter");
  // Functions, not strings: the client's CSP forbids eval, which string predicates need.
  await page.waitForFunction((n) => {
    const g = (globalThis as unknown as PageGlobals).__gaia;
    return g.commands.length > n && g.commands[n]!.doneAt !== null;
  }, before);
  const cmd = (await gaia(page)).commands[before]!;
  if (cmd.error) throw new Error(`"${message}" failed: ${cmd.error}`);
  return cmd;
}

/** Waits until the page painted the event `id`; returns that paint. */
export async function paintOf(page: Page, id: string, timeout = 10_000): Promise<Paint> {
  await page.waitForFunction(
    (id) => (globalThis as unknown as PageGlobals).__gaia.paints.some((p) => p.id === id),
    id,
    { timeout },
  );
  return (await gaia(page)).paints.find((p) => p.id === id)!;
}

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Side-by-side image of two screenshots (rendered by the browser itself, so
 * no image library is needed).
 */
export async function sideBySide(
  browser: Browser,
  left: Uint8Array,
  right: Uint8Array,
  path: string,
): Promise<void> {
  const b64 = (bytes: Uint8Array) =>
    btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""));
  const page = await browser.newPage({ viewport: { width: 100, height: 100 } });
  try {
    await page.setContent(
      `<body style="margin:0;background:#cfcac0;display:flex;gap:12px;padding:12px;width:max-content;align-items:flex-start">` +
        `<img src="data:image/png;base64,${b64(left)}" style="box-shadow:0 1px 6px #0004">` +
        `<img src="data:image/png;base64,${b64(right)}" style="box-shadow:0 1px 6px #0004">` +
        `</body>`,
    );
    await page.waitForLoadState("load");
    const size = await page.evaluate(
      "({ w: document.body.scrollWidth, h: document.body.scrollHeight })",
    ) as { w: number; h: number };
    await page.setViewportSize({ width: size.w, height: size.h });
    await page.screenshot({ path, fullPage: true });
  } finally {
    await page.close();
  }
}
