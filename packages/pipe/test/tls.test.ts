import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { isPipeError, pipeOpen } from "../src/index.js";

const hasOpenssl = ["/usr/bin/openssl", "/bin/openssl"].some(existsSync);

describe.skipIf(!hasOpenssl)("TLS client pipes (needs openssl for a throwaway certificate)", () => {
  let dir = "";
  let cert = "";
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pp-tls-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    cert = readFileSync(join(dir, "cert.pem"), "utf8");
    // A TLS echo server: echoing bytes as they come keeps the pipe's framing intact.
    server = createServer({ key: readFileSync(join(dir, "key.pem")), cert }, (s) => s.pipe(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  test("verified TLS: messages round-trip through an encrypted echo", async () => {
    const p = await pipeOpen("tcp", undefined, { host: "127.0.0.1", port }, { tls: { ca: cert } });
    await p.send("secret one");
    await p.send("secret two");
    expect((await p.recv()).toString()).toBe("secret one");
    expect((await p.recv()).toString()).toBe("secret two");
    await p.close();
  });

  test("an unverifiable certificate is ERR_TLS (verification is on by default)", async () => {
    let err: unknown;
    try {
      const p = await pipeOpen("tcp", undefined, { host: "127.0.0.1", port }, { tls: true });
      await p.close();
    } catch (e) {
      err = e;
    }
    expect(isPipeError(err, "ERR_TLS")).toBe(true);
  });

  test("a peer that does not speak TLS is ERR_TLS, not a hang", async () => {
    const plain = await pipeOpen("tcp", { host: "127.0.0.1" });
    let err: unknown;
    try {
      await pipeOpen("tcp", undefined, plain.local, { tls: true, tlsHandshakeTimeoutMs: 300 });
    } catch (e) {
      err = e;
    }
    expect(isPipeError(err, "ERR_TLS")).toBe(true);
    await plain.close();
  });
});
