/**
 * Throwaway TLS material for tests: a private CA and a server certificate
 * for `127.0.0.1` / `localhost` signed by it, made with `openssl` in a temp
 * directory. A missing `openssl` fails loudly with the install hint.
 *
 * @module
 */

/** Paths of the PEM files {@linkcode makeTestCa} wrote. */
export interface TestTls extends AsyncDisposable {
  readonly dir: string;
  /** The CA certificate: what `NATS_CA` names. */
  readonly caFile: string;
  /** The server's certificate and key (nats-server `--tlscert` / `--tlskey`). */
  readonly certFile: string;
  readonly keyFile: string;
  /** Removes the directory. */
  dispose(): Promise<void>;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("openssl", {
      args,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    })
      .output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error("openssl not found: install it with `apt-get install -y openssl`");
    }
    throw e;
  }
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * Makes a CA and a server certificate signed by it (valid a day).
 *
 * @example
 * ```ts
 * await using tls = await makeTestCa();
 * await using nats = await natsServer({ tls });
 * ```
 */
export async function makeTestCa(): Promise<TestTls> {
  const dir = await Deno.makeTempDir({ prefix: "gaia-tls-" });
  try {
    await openssl([
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"],
      ...["-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=gaia test CA"],
    ], dir);
    await openssl([
      ...["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr"],
      ...["-subj", "/CN=localhost"],
    ], dir);
    await Deno.writeTextFile(
      `${dir}/san.ext`,
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    );
    await openssl([
      ...["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key"],
      ...["-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "san.ext"],
    ], dir);
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
  const dispose = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  return {
    dir,
    caFile: `${dir}/ca.pem`,
    certFile: `${dir}/server.pem`,
    keyFile: `${dir}/server.key`,
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}
