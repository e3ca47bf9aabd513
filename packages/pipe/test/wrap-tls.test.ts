import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer, type TLSSocket } from "node:tls";
import { describe, expect, test } from "vitest";
import { wrapStream } from "../src/index.js";
import { selfSignedCert } from "./helpers.js";

const hasOpenssl = ["/usr/bin/openssl", "/bin/openssl"].some(existsSync);

describe.skipIf(!hasOpenssl)("wrapStream over TLS sockets (needs openssl)", () => {
  test("both ends of a verified TLS connection are framed pipes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pp-wtls-"));
    try {
      selfSignedCert(dir, "c", "/CN=localhost", "subjectAltName=IP:127.0.0.1");
      const cert = readFileSync(join(dir, "c.pem"));
      const server = createServer({ key: readFileSync(join(dir, "c.key")), cert });
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      const accepted = once(server, "secureConnection") as Promise<[TLSSocket]>;
      const sock = connect({
        host: "127.0.0.1",
        port: (server.address() as AddressInfo).port,
        ca: cert,
      });
      await once(sock, "secureConnect");
      const [peer] = await accepted;
      const a = wrapStream(sock);
      const b = wrapStream(peer);
      expect(a.remote.port).toBe((server.address() as AddressInfo).port);
      const payload = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await a.send(payload);
      await a.send(Buffer.alloc(100_000, 5));
      expect((await b.recv()).equals(payload)).toBe(true);
      expect((await b.recv()).length).toBe(100_000);
      await b.send("over tls");
      expect((await a.recv()).toString()).toBe("over tls");
      await a.close();
      await new Promise((r) => b.onEnd(r));
      expect(sock.destroyed).toBe(true);
      server.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
