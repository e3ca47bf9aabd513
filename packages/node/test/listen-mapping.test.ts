import { once } from "node:events";
import net from "node:net";
import { StunServer } from "@p2pd/stun";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { openListenMapping } from "../src/listen-mapping.js";

// The listen-port mapping on loopback: no NAT, so the STUN server must see the listen port itself
// as the source, and the listener must be back afterwards.
let stun: StunServer;
beforeAll(async () => {
  // A short idle limit: the mapping's refresh requests must keep the link open past it.
  stun = await new StunServer({
    ips: ["127.0.0.1"],
    port: 0,
    protocols: ["tcp"],
    tcpIdleMs: 300,
  }).listen();
});
afterAll(async () => {
  await stun?.close();
});

async function listener(port = 0): Promise<net.Server> {
  const srv = net.createServer((s) => s.end("hi"));
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(port, "127.0.0.1", () => resolve());
  });
  return srv;
}

const portOf = (srv: net.Server) => (srv.address() as net.AddressInfo).port;

async function greet(port: number): Promise<string> {
  const c = net.connect(port, "127.0.0.1");
  let got = "";
  c.on("data", (d) => (got += d));
  await once(c, "end");
  c.destroy();
  return got;
}

/**
 * A listener on a fresh port, then openListenMapping from that port towards `stunPort`;
 * `second()` is the listener it puts back beside the STUN socket.
 */
async function mapListenPort(stunPort: number, extra: { refreshMs?: number } = {}) {
  const first = await listener();
  const port = portOf(first);
  let second: net.Server | undefined;
  const mapping = openListenMapping({
    host: "127.0.0.1",
    port,
    stun: { host: "127.0.0.1", port: stunPort },
    signal: AbortSignal.timeout(5000),
    ...extra,
    unlisten: () => first.close(),
    relisten: async () => {
      second = await listener(port);
    },
  });
  return { first, port, mapping, second: () => second };
}

describe("openListenMapping", () => {
  test("the STUN request leaves from the listen port; the listener is back beside it", async () => {
    const { first, port, mapping, second } = await mapListenPort(stun.primary.port);
    const m = await mapping;
    try {
      expect(m.local).toEqual({ host: "127.0.0.1", port });
      expect(m.mapped).toEqual({ host: "127.0.0.1", port });
      expect(first.listening).toBe(false);
      expect(second()?.listening).toBe(true);
      expect(await greet(port)).toBe("hi");
      expect(m.socket.destroyed).toBe(false);
    } finally {
      m.close();
      second()?.close();
    }
  });

  test("refresh requests keep the STUN link (and so the mapping) open past the server's idle limit", async () => {
    const { mapping, second } = await mapListenPort(stun.primary.port, { refreshMs: 100 });
    const m = await mapping;
    try {
      let answers = 0;
      m.socket.on("data", () => answers++);
      await new Promise((r) => setTimeout(r, 900));
      expect(m.socket.destroyed).toBe(false);
      expect(answers).toBeGreaterThan(2);
    } finally {
      m.close();
      second()?.close();
    }
  });

  test("no STUN server: a typed error, and the listener is still back", async () => {
    const dead = await listener();
    const deadPort = portOf(dead);
    await new Promise<void>((r) => dead.close(() => r()));
    const { port, mapping, second } = await mapListenPort(deadPort);
    const err = await mapping.catch((e) => e);
    try {
      expect(err).toMatchObject({ code: "ERR_STUN_TIMEOUT" });
      expect(await greet(port)).toBe("hi");
    } finally {
      second()?.close();
    }
  });

  test("an aborted signal leaves the listener alone", async () => {
    const first = await listener();
    try {
      const ac = new AbortController();
      ac.abort(new Error("stop"));
      let unlistened = false;
      await expect(
        openListenMapping({
          host: "127.0.0.1",
          port: portOf(first),
          stun: { host: "127.0.0.1", port: stun.primary.port },
          signal: ac.signal,
          unlisten: () => {
            unlistened = true;
          },
          relisten: async () => {},
        }),
      ).rejects.toThrow("stop");
      expect(unlistened).toBe(false);
      expect(await greet(portOf(first))).toBe("hi");
    } finally {
      first.close();
    }
  });
});
