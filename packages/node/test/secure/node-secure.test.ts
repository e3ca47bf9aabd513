import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import type { Pipe } from "@p2pd/pipe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConnectError,
  type EmbeddedBroker,
  echo,
  formatAddress,
  type P2PNode,
  startBroker,
  startNode,
} from "../../src/index.js";

// Node connections end to end: every strategy's pipe is encrypted and tells who the far end is;
// real adversaries on loopback (a relay that records or flips bits, a node at another node's
// address); plaintext only when both nodes opt in.

let broker: EmbeddedBroker;
let a: P2PNode;
let b: P2PNode;
const servers: Server[] = [];

beforeAll(async () => {
  broker = await startBroker();
  a = await startNode({ interfaces: "loopback", mqtt: broker.url });
  b = await startNode({ interfaces: "loopback", mqtt: broker.url });
});
afterAll(async () => {
  for (const s of servers) s.close();
  await b?.close();
  await a?.close();
  await broker?.close();
});

/** A's address with another port (the relay's, or an impostor's). */
function addressAtPort(node: P2PNode, port: number): string {
  const p = node.parsedAddress;
  return formatAddress({
    ...p,
    ipv4: p.ipv4.map((e) => ({ ...e, port })),
    ipv6: p.ipv6.map((e) => ({ ...e, port })),
  });
}

/** A TCP relay in front of `port`, each direction's bytes through `tap`. */
async function relay(port: number, tap: (dir: "ab" | "ba", c: Buffer) => Buffer) {
  const srv = createServer((x: Socket) => {
    const y = connect(port, "127.0.0.1");
    x.on("data", (c: Buffer) => y.write(tap("ab", c)));
    y.on("data", (c: Buffer) => x.write(tap("ba", c)));
    x.on("close", () => y.destroy());
    y.on("close", () => x.destroy());
    x.on("error", () => {});
    y.on("error", () => {});
  });
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  servers.push(srv);
  return (srv.address() as { port: number }).port;
}

function inboundPipe(node: P2PNode): Promise<Pipe> {
  return new Promise((r) => node.once("pipe", (e: { pipe: Pipe }) => r(e.pipe)));
}

describe("encrypted node connections", () => {
  for (const strategy of ["direct", "reverse", "tcp-punch", "udp-punch"] as const) {
    it(`${strategy}: both ends know the verified far end; ECHO works`, async () => {
      const inbound = inboundPipe(a);
      const r = await b.connect(a.address, { strategies: [strategy] });
      expect(r.peer?.nodeId).toBe(a.nodeId);
      expect(r.pipe.peer?.nodeId).toBe(a.nodeId);
      expect((await inbound).peer?.nodeId).toBe(b.nodeId);
      expect((await echo(r.pipe, "over noise")).toString()).toBe("over noise");
      await r.pipe.close();
    });
  }

  it("a relay in the middle that records every byte sees no payload", async () => {
    const captured: Buffer[] = [];
    const port = await relay(a.port, (_d, c) => {
      captured.push(Buffer.from(c));
      return c;
    });
    const r = await b.connect(addressAtPort(a, port), { strategies: ["direct"] });
    const secret = "meet me at the old mill at midnight";
    expect((await echo(r.pipe, secret)).toString()).toBe(secret);
    const wire = Buffer.concat(captured);
    expect(wire.length).toBeGreaterThan(200);
    expect(wire.includes(secret)).toBe(false);
    expect(wire.includes("ECHO")).toBe(false);
    await r.pipe.close();
  });

  it("a relay that flips one bit: the pipe fails, no wrong data is delivered", async () => {
    let seen = 0;
    const port = await relay(a.port, (d, c) => {
      if (d !== "ab") return c;
      const out = Buffer.from(c);
      const i = 600 - seen; // past the handshake and the ID message
      if (i >= 0 && i < out.length) out[i] = (out[i] as number) ^ 0x01;
      seen += c.length;
      return out;
    });
    const inbound = inboundPipe(a);
    const r = await b.connect(addressAtPort(a, port), { strategies: ["direct"] });
    const at = await inbound;
    const got: string[] = [];
    at.onMessage((m) => {
      got.push(m.data.toString());
    });
    const sent: string[] = [];
    for (let i = 0; i < 50; i++) {
      const m = `payment ${i}: 100 coins to alice `;
      sent.push(m);
      await r.pipe.send(m).catch(() => {});
      await new Promise((res) => setTimeout(res, 1));
    }
    await new Promise((res) => at.onEnd(() => res(undefined)));
    expect(got.length).toBeLessThan(sent.length);
    expect(got).toEqual(sent.slice(0, got.length));
    await r.pipe.close();
  });

  it("the dialer's cipher is used: AESGCM by default, ChaChaPoly with noiseCipher; both ends agree", async () => {
    const inbound = inboundPipe(a);
    const r = await b.connect(a.address, { strategies: ["direct"] });
    expect(r.pipe.peer?.cipher).toBe("AESGCM");
    expect((await inbound).peer?.cipher).toBe("AESGCM");
    await r.pipe.close();
    const c = await startNode({
      interfaces: "loopback",
      mqtt: broker.url,
      noiseCipher: "ChaChaPoly",
    });
    try {
      const back = inboundPipe(a);
      const rc = await c.connect(a.address, { strategies: ["direct"] });
      expect(rc.pipe.peer?.cipher).toBe("ChaChaPoly");
      expect((await back).peer?.cipher).toBe("ChaChaPoly");
      expect((await echo(rc.pipe, "chacha")).toString()).toBe("chacha");
      await rc.pipe.close();
    } finally {
      await c.close();
    }
  });

  it("a node listening at another node's address cannot complete the handshake: ERR_PEER_AUTH", async () => {
    const c = await startNode({ interfaces: "loopback", mqtt: broker.url });
    try {
      // A's keys and node id, C's port: C answers, with its own keys.
      const err = await b
        .connect(addressAtPort(a, c.port), { strategies: ["direct"], timeoutMs: 10_000 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).failures.map((f) => f.code)).toEqual(["ERR_PEER_AUTH"]);
    } finally {
      await c.close();
    }
  });
});

describe("plaintext only by explicit opt-in", () => {
  it("two insecure nodes connect in plaintext; an insecure and a secure node do not", async () => {
    const x = await startNode({ interfaces: "loopback", mqtt: broker.url, insecure: true });
    const y = await startNode({ interfaces: "loopback", mqtt: broker.url, insecure: true });
    try {
      const r = await y.connect(x.address, { strategies: ["direct"] });
      expect(r.peer).toBeUndefined();
      expect((await echo(r.pipe, "clear")).toString()).toBe("clear");
      await r.pipe.close();
      const err = await b
        .connect(x.address, { strategies: ["direct"], timeoutMs: 5000 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectError);
    } finally {
      await y.close();
      await x.close();
    }
  });
});
