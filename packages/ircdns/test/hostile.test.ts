// A hostile server that answers with arbitrary lines: every operation ends with a typed error (or a
// correct "not found"), within its timeouts, and never with an answer or a crash.
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { IrcDnsError } from "../src/errors.js";
import { IRCDNS } from "../src/ircdns.js";

const line = fc.oneof(
  fc.string({ maxLength: 700 }),
  fc.constantFrom(
    ":irc.x 001 me :welcome",
    ":irc.x 005 me TOPICLEN=-5 :x",
    ":irc.x 005 me TOPICLEN=999999 :x",
    ":irc.x 332 me #c :p2pd.net/irc 0 0",
    ":ChanServ!a@b NOTICE me :Founder: someone",
    ":NickServ!a@b NOTICE me :You are now identified for me.",
    ":x TOPIC",
    "ERROR :go away",
    ":irc.x 433 * me :in use",
    "PING",
    "@@@ :::",
  ),
);

async function hostile(lines: string[]): Promise<{ port: number; close: () => Promise<void> }> {
  const socks = new Set<import("node:net").Socket>();
  const server = createServer((sock) => {
    socks.add(sock);
    sock.on("error", () => {});
    sock.on("close", () => socks.delete(sock));
    // Reply to anything the client says with the next hostile lines.
    let i = 0;
    sock.on("data", () => {
      for (let k = 0; k < 3 && i < lines.length; k++, i++) sock.write(`${lines[i]}\r\n`);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  return {
    port: typeof addr === "object" && addr ? addr.port : 0,
    close: () =>
      new Promise<void>((r) => {
        for (const s of socks) s.destroy();
        server.close(() => r());
      }),
  };
}

describe("hostile server", () => {
  test("lookup and register end in typed errors", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 30 }), async (lines) => {
        const srv = await hostile(lines);
        const dns = await IRCDNS.start({
          seed: randomBytes(24),
          servers: [`127.0.0.1:${srv.port}`],
          cacheDir: false,
          connectTimeoutMs: 400,
          serviceTimeoutMs: 300,
          topicRestoreMs: 100,
        });
        try {
          for (const op of [() => dns.lookup(["a", "b"]), () => dns.register(["a", "b"])]) {
            const r = await op().then(
              (v) => v,
              (e: unknown) => e,
            );
            expect(r).toBeInstanceOf(IrcDnsError);
          }
        } finally {
          await dns.close();
          await srv.close();
        }
      }),
      { numRuns: 12 },
    );
  }, 60_000);
});

describe("a server that never answers", () => {
  test("is waited on once per instance: the next operations fail at once with the same typed error", async () => {
    // Accepts TCP and says nothing (a dead ircd, or a firewall that swallows the handshake).
    let connections = 0;
    const socks = new Set<import("node:net").Socket>();
    const server = createServer((sock) => {
      connections++;
      socks.add(sock);
      sock.on("error", () => {});
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as import("node:net").AddressInfo).port;
    const dns = await IRCDNS.start({
      seed: randomBytes(24),
      servers: [`127.0.0.1:${port}`],
      cacheDir: false,
      connectTimeoutMs: 400,
    });
    try {
      const t0 = performance.now();
      const first = await dns.lookup(["a", "b"]).catch((e: unknown) => e);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(350);
      expect(first).toMatchObject({ code: "ERR_IRCDNS_NO_QUORUM" });
      expect((first as Error).message).toContain("ERR_IRCDNS_CONNECT");
      const t1 = performance.now();
      const second = await dns.register(["a", "b"]).catch((e: unknown) => e);
      const third = await dns.lookup(["c", "d"]).catch((e: unknown) => e);
      expect(performance.now() - t1).toBeLessThan(200);
      expect(second).toMatchObject({ code: "ERR_IRCDNS_NO_QUORUM" });
      expect((third as Error).message).toContain("ERR_IRCDNS_CONNECT");
      expect(connections).toBe(1);
    } finally {
      await dns.close();
      for (const s of socks) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 30_000);
});
