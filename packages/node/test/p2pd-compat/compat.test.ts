import { connect, createServer } from "node:net";
import type { Pipe } from "@p2pd/pipe";
import { describe, expect, test } from "vitest";
import { parseAddress } from "../../src/address.js";
import type { EmbeddedBroker } from "../../src/broker.js";
import { sealEnvelope } from "../../src/envelope.js";
import { deriveKeys } from "../../src/keys.js";
import { MemoryNaming } from "../../src/naming.js";
import { echo } from "../../src/node/protocol.js";
import { type P2PNode, startNode } from "../../src/node.js";
import { p2pdMachineIdOf } from "../../src/p2pd-compat/address.js";
import { P2PD_TEST_REPLY, p2pdTest } from "../../src/p2pd-compat/protocol.js";
import { twoNodesForFile } from "../two-nodes.js";

let broker: EmbeddedBroker;
let a: P2PNode;
let b: P2PNode;
const naming = new MemoryNaming();

twoNodesForFile(
  (n) => {
    ({ broker, a, b } = n);
  },
  { a: { naming, p2pdCompat: true, limits: { handshakeTimeoutMs: 300 } }, b: { naming } },
);

/** A raw TCP client of a's P2PD listener (what a Python P2PD node sends, byte for byte). */
function raw(): Promise<{ send(s: string): void; next(): Promise<string>; closed: Promise<void> }> {
  const port = parseAddress(a.p2pdAddress as string).ipv4[0]?.port as number;
  return new Promise((res, rej) => {
    const s = connect(port, "127.0.0.1", () => {
      const got: string[] = [];
      let wake: (() => void) | undefined;
      s.on("data", (d) => {
        got.push(d.toString("latin1"));
        wake?.();
      });
      res({
        send: (x) => s.write(x),
        next: () =>
          new Promise<string>((r) => {
            const take = () => {
              const v = got.shift();
              if (v === undefined) return false;
              r(v);
              return true;
            };
            if (!take()) wake = () => void take();
          }),
        closed: new Promise<void>((r) => s.once("close", () => r())),
      });
    });
    s.once("error", rej);
  });
}

describe("P2PD compatibility between two of our nodes (loopback)", () => {
  test("p2pdAddress only with the option; it is a P2PD v3 address on a port of its own", () => {
    expect(b.p2pdAddress).toBeUndefined();
    const p = parseAddress(a.p2pdAddress as string);
    expect(p.p2pd?.format).toBe("v3");
    expect(p.nodeId).toBe(a.nodeId);
    expect(p.ipv4[0]?.port).not.toBe(a.port);
    expect(p.keys).toBeUndefined();
  });

  test("a node dials another's P2PD address: plaintext, test message, ECHO, adopted under the id", async () => {
    const inbound = new Promise<{ id: string; pipe: Pipe }>((res) => a.once("pipe", res));
    const r = await b.connect(a.p2pdAddress as string);
    expect(r).toMatchObject({ strategy: "direct", plaintext: true });
    expect(r.peer).toBeUndefined();
    expect(await p2pdTest(r.pipe)).toBe(P2PD_TEST_REPLY);
    expect((await echo(r.pipe, "plain")).toString()).toBe("plain");
    const { id, pipe } = await inbound;
    expect(id).toBe(r.id);
    await r.pipe.send("to a");
    expect((await pipe.recv({ timeoutMs: 2000 })).toString()).toBe("to a");
    await r.pipe.close();
  });

  test("P2PD's bytes on the wire: id line and test message in one read, answered once", async () => {
    const c = await raw();
    const inbound = new Promise<{ id: string }>((res) => a.once("pipe", res));
    c.send("P2P_CON_ID_EQ abcDEF123456789\nlong_p2pd_test_string_abcd123");
    expect(await c.next()).toBe(P2PD_TEST_REPLY);
    expect((await inbound).id).toBe("abcDEF123456789");
  });

  test("a connection that never names itself is closed after the handshake timeout", async () => {
    const c = await raw();
    c.send("long_p2pd_test_string_abcd123");
    expect(await c.next()).toBe(P2PD_TEST_REPLY);
    await c.closed;
  });

  test("a bad id line is not an id (the connection stays nobody's)", async () => {
    const c = await raw();
    let adopted = false;
    const on = () => {
      adopted = true;
    };
    a.on("pipe", on);
    c.send("P2P_CON_ID_EQ has/slash\n");
    c.send("P2P_CON_ID_EQ a b\n");
    await c.closed;
    a.off("pipe", on);
    expect(adopted).toBe(false);
  });

  test("connect('my-cool-node-x.peer') is a name: looked up, not parsed as an address", async () => {
    await naming.register("my-cool-node-x.peer", a.address);
    const r = await b.connect("my-cool-node-x.peer", { strategies: ["direct"] });
    expect(r.timings.lookupMs).toBeGreaterThanOrEqual(0);
    expect(r.plaintext).toBeUndefined();
    expect((await echo(r.pipe, "by dashed name")).toString()).toBe("by dashed name");
    await r.pipe.close();
  });

  test("a signed envelope whose sender address is in P2PD format is dropped (no dial-back)", async () => {
    const lines: string[] = [];
    const c = await startNode({
      interfaces: "loopback",
      mqtt: broker.url,
      log: (l) => lines.push(l),
    });
    const trap = createServer((s) => {
      dialed = true;
      s.destroy();
    });
    let dialed = false;
    await new Promise<void>((r) => trap.listen(0, "127.0.0.1", r));
    try {
      const port = (trap.address() as { port: number }).port;
      const stranger = deriveKeys();
      const from = `None-[0,0,127.0.0.1,127.0.0.1,${port},1,1,0]-0-${stranger.nodeId}-${p2pdMachineIdOf(stranger.nodeId)}`;
      const body = JSON.stringify({ type: "CONNECT", pipeId: "cd".repeat(16), from });
      const mqtt = await import("mqtt");
      const m = await mqtt.default.connectAsync(broker.url, { protocolVersion: 4 });
      await m.publishAsync(
        c.nodeId,
        sealEnvelope(stranger, c.keys.x25519.publicKey, Buffer.from(body)),
        { qos: 1 },
      );
      await m.endAsync();
      const t0 = Date.now();
      while (
        !lines.some((l) => l.includes("sender address is a P2PD address")) &&
        Date.now() - t0 < 3000
      )
        await new Promise((r) => setTimeout(r, 20));
      expect(lines.some((l) => l.includes("sender address is a P2PD address"))).toBe(true);
      expect(dialed).toBe(false);
    } finally {
      trap.close();
      await c.close();
    }
  });
});
