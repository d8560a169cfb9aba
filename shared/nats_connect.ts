/**
 * The NATS connection the settings describe: `NATS_URL` with `NATS_TOKEN`,
 * `NATS_USER` + `NATS_PASSWORD` or `NATS_CREDS`, and `NATS_CA` for a private
 * CA behind `tls://` URLs. A refused login or an untrusted certificate is a
 * {@linkcode SettingsError} naming the settings to fix (main.ts prints it and
 * exits 2), never an endless reconnect loop.
 *
 * @module
 */
import { BusError } from "./bus/types.ts";
import { NatsBus, type NatsBusOptions } from "./bus/nats_bus.ts";
import { SettingsError } from "./errors.ts";
import type { Settings } from "./settings.ts";

/** The settings a NATS connection is made from. */
export type NatsSettings = Pick<
  Settings,
  "NATS_TOKEN" | "NATS_USER" | "NATS_PASSWORD" | "NATS_CREDS" | "NATS_CA"
>;

async function readSetting(name: "NATS_CREDS" | "NATS_CA", path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new SettingsError([name], `${name}: cannot read ${path} (${(e as Error).name})`);
  }
}

/**
 * The security part of {@linkcode NatsBusOptions} from the settings; reads
 * the `.creds` and CA files (a missing one is a {@linkcode SettingsError}).
 *
 * @example
 * ```ts
 * const security = await natsSecurity({ NATS_TOKEN: "s3cret" });
 * const bus = await NatsBus.connect(url, { ...security, name: "gaia-kb" });
 * ```
 */
export async function natsSecurity(settings: Partial<NatsSettings>): Promise<NatsBusOptions> {
  return {
    token: settings.NATS_TOKEN,
    user: settings.NATS_USER && settings.NATS_PASSWORD !== undefined
      ? { name: settings.NATS_USER, password: settings.NATS_PASSWORD }
      : undefined,
    creds: settings.NATS_CREDS ? await readSetting("NATS_CREDS", settings.NATS_CREDS) : undefined,
    ca: settings.NATS_CA ? await readSetting("NATS_CA", settings.NATS_CA) : undefined,
  };
}

/** The settings that decide whether a NATS server accepts us. */
function authSettings(settings: Partial<NatsSettings>): string[] {
  if (settings.NATS_CREDS) return ["NATS_CREDS"];
  if (settings.NATS_USER) return ["NATS_USER", "NATS_PASSWORD"];
  if (settings.NATS_TOKEN) return ["NATS_TOKEN"];
  return ["NATS_TOKEN", "NATS_USER", "NATS_CREDS"];
}

/**
 * Connects to `url` with the settings' credentials. Waits for a server that
 * is not up yet; a refused login throws a {@linkcode SettingsError} naming
 * the credential settings, an untrusted certificate one naming `NATS_CA`.
 *
 * @example
 * ```ts
 * const bus = await connectNats(settings.NATS_URL!, settings, { name: "gaia-chat" });
 * ```
 */
export async function connectNats(
  url: string,
  settings: Partial<NatsSettings>,
  opts: NatsBusOptions = {},
): Promise<NatsBus> {
  const security = await natsSecurity(settings);
  try {
    return await NatsBus.connect(url, { ...opts, ...security });
  } catch (e) {
    if (!(e instanceof BusError)) throw e;
    if (e.code === "auth_failed") {
      const names = authSettings(settings);
      const hint = settings.NATS_TOKEN || settings.NATS_USER || settings.NATS_CREDS
        ? "check it"
        : "the server wants credentials: set one of them";
      throw new SettingsError(names, `${names.join(" / ")}: ${e.message} (${hint})`);
    }
    if (e.code === "tls_failed") {
      throw new SettingsError(
        ["NATS_CA", "NATS_URL"],
        `NATS_CA / NATS_URL: ${e.message} (NATS_CA must name the CA that signed the servers' certificates)`,
      );
    }
    throw e;
  }
}
