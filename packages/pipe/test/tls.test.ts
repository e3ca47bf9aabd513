import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:tls";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { isPipeError, pipeOpen } from "../src/index.js";
import { selfSignedCert } from "./helpers.js";

const hasOpenssl = ["/usr/bin/openssl", "/bin/openssl"].some(existsSync);

describe.skipIf(!hasOpenssl)("TLS client pipes (needs openssl for a throwaway certificate)", () => {
  let dir = "";
  let cert = "";
  let server: Server;
  let port = 0;
  let ipOnly: Server | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "pp-tls-"));
    selfSignedCert(dir, "cert", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1");
    cert = readFileSync(join(dir, "cert.pem"), "utf8");
    // A TLS echo server: echoing bytes as they come keeps the pipe's framing intact.
    server = createServer({ key: readFileSync(join(dir, "cert.key")), cert }, (s) => s.pipe(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    if (ipOnly) await new Promise((r) => ipOnly?.close(r));
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

  test("the certificate is checked against the dialled name or IP, not a default name", async () => {
    // A certificate valid for the IP 127.0.0.1 only (no DNS name at all).
    selfSignedCert(dir, "ip-cert", "/CN=ip-only", "subjectAltName=IP:127.0.0.1");
    const ipCert = readFileSync(join(dir, "ip-cert.pem"), "utf8");
    const srv = createServer({ key: readFileSync(join(dir, "ip-cert.key")), cert: ipCert }, (s) =>
      s.pipe(s),
    );
    ipOnly = srv;
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const ipPort = (srv.address() as { port: number }).port;
    // Dialled by IP: the IP SAN matches.
    const byIp = await pipeOpen(
      "tcp",
      undefined,
      { host: "127.0.0.1", port: ipPort },
      {
        tls: { ca: ipCert },
      },
    );
    await byIp.send("ip");
    expect((await byIp.recv()).toString()).toBe("ip");
    await byIp.close();
    // Dialled by name: "localhost" is not in this certificate.
    const byName = await pipeOpen("tcp", { host: "127.0.0.1" }, `localhost:${ipPort}`, {
      tls: { ca: ipCert },
    }).catch((e) => e);
    expect(isPipeError(byName, "ERR_TLS")).toBe(true);
    // The first certificate names localhost: dialling that name verifies.
    const named = await pipeOpen("tcp", { host: "127.0.0.1" }, `localhost:${port}`, {
      tls: { ca: cert },
    });
    await named.send("name");
    expect((await named.recv()).toString()).toBe("name");
    await named.close();
  });
});
