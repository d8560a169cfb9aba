/**
 * Decentralized NATS auth (operator mode, the form hosted NATS uses) without
 * `nsc`: an operator, a system account, an application account with
 * JetStream and a user, signed with nkeys by `@nats-io/jwt`; the server
 * resolves accounts from memory (`resolver: MEMORY`).
 *
 * @module
 */
import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
} from "@nats-io/jwt";

/** A server configuration and the `.creds` of a user it accepts. */
export interface TestOperator {
  /** nats-server configuration text (`NatsServerOptions.config`). */
  readonly config: string;
  /** `.creds` file text of a user of the application account. */
  readonly creds: string;
  /** `.creds` of a user signed by an account the server does not know. */
  readonly strangerCreds: string;
}

const UNLIMITED_JETSTREAM = {
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
};

async function userCreds(name: string, account: ReturnType<typeof createAccount>) {
  const user = createUser();
  const jwt = await encodeUser(name, user, account);
  return new TextDecoder().decode(fmtCreds(jwt, user));
}

/**
 * Makes the operator, accounts and a user.
 *
 * @example
 * ```ts
 * const op = await makeTestOperator();
 * await using nats = await natsServer({ config: op.config });
 * // NATS_CREDS = a file holding op.creds
 * ```
 */
export async function makeTestOperator(): Promise<TestOperator> {
  const operator = createOperator();
  const system = createAccount();
  const app = createAccount();
  const operatorJwt = await encodeOperator("gaia-test", operator, {
    system_account: system.getPublicKey(),
  });
  const systemJwt = await encodeAccount("SYS", system, {}, { signer: operator });
  const appJwt = await encodeAccount("GAIA", app, {
    limits: { ...UNLIMITED_JETSTREAM, subs: -1, data: -1, payload: -1, conn: -1 },
  }, { signer: operator });
  const config = [
    `operator: ${operatorJwt}`,
    `system_account: ${system.getPublicKey()}`,
    "resolver: MEMORY",
    "resolver_preload: {",
    `  ${system.getPublicKey()}: ${systemJwt}`,
    `  ${app.getPublicKey()}: ${appJwt}`,
    "}",
    "",
  ].join("\n");
  return {
    config,
    creds: await userCreds("gaia", app),
    strangerCreds: await userCreds("stranger", createAccount()),
  };
}
