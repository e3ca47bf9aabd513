import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  deriveKeys,
  type EmbeddedBroker,
  formatAddress,
  parseAddress,
  sealEnvelope,
  startBroker,
} from "../../src/index.js";
import { built, sleep, startTarget, type Target } from "./harness.js";

// Offers that name someone else: a "LAN" host (127.0.0.2) and a third party (127.0.0.3), by UDP
// and TCP punch offers and by reverse-connect addresses. Each target listens on UDP and TCP and
// counts every packet and connection it gets: the node must send them nothing.
let broker: EmbeddedBroker;
let target: Target;

beforeAll(async () => {
  if (!built) return;
  broker = await startBroker();
  target = await startTarget(broker.url);
}, 20_000);
afterAll(async () => {
  await target?.stop();
  await broker?.close();
});

describe.skipIf(!built)("adversary: reflection", () => {
  test("offers naming LAN or third-party hosts get zero packets sent to them", async () => {
    let packets = 0;
    let conns = 0;
    const closers: (() => void)[] = [];
    const ports: Record<string, number> = {};
    for (const host of ["127.0.0.2", "127.0.0.3"]) {
      const u = createSocket("udp4");
      await new Promise<void>((r) => u.bind(0, host, r));
      u.on("message", () => packets++);
      const port = u.address().port;
      const t = net.createServer((s) => {
        conns++;
        s.destroy();
      });
      await new Promise<void>((r) => t.listen(port, host, r));
      ports[host] = port;
      closers.push(
        () => u.close(),
        () => t.close(),
      );
    }
    const to = parseAddress(target.addr);
    if (!to.keys) throw new Error("no keys");
    const mqtt = await import("mqtt");
    const c = await mqtt.default.connectAsync(broker.url, { protocolVersion: 4 });
    let sent = 0;
    try {
      for (const host of ["127.0.0.2", "127.0.0.3"]) {
        const port = ports[host] as number;
        for (let i = 0; i < 20; i++) {
          const k = deriveKeys(randomBytes(32));
          const me = {
            nodeId: k.nodeId,
            keys: { x25519: k.x25519.publicKey, ed25519: k.ed25519.publicKey },
          };
          // The attacker's own (loopback) address, with an offer naming the victim...
          const own = formatAddress({ ...to, ...me });
          // ...or an address that claims the victim as the attacker's own IPs (for reverse).
          const claimed = formatAddress({
            ...to,
            ...me,
            ipv4: to.ipv4.map((e) => ({ ...e, ext: host, internal: host, port })),
            ipv6: [],
          });
          const bodies = [
            { type: "UDP_OFFER", from: own, host, ports: [port], rttMs: 5, family: 4 },
            { type: "TCP_OFFER", from: own, host, ports: [port], rttMs: 5, family: 4 },
            { type: "CONNECT", from: claimed, proto: "tcp" },
            { type: "UDP_OFFER", from: claimed, host, ports: [port], rttMs: 5, family: 4 },
          ];
          for (const b of bodies) {
            const msg = { ...b, pipeId: randomBytes(16).toString("hex") };
            await c.publishAsync(
              to.nodeId,
              sealEnvelope(k, to.keys.x25519, Buffer.from(JSON.stringify(msg))),
              { qos: 1 },
            );
            sent++;
          }
        }
      }
      // Long enough for every punch to start (the meeting time is a few hundred ms out).
      await sleep(4000);
    } finally {
      await c.endAsync();
      for (const f of closers) f();
    }
    console.log(
      `reflection: ${sent} offers naming 2 victims from 80 throwaway keys; ` +
        `${packets} UDP packets and ${conns} TCP connections reached the victims`,
    );
    expect(packets).toBe(0);
    expect(conns).toBe(0);
  }, 60_000);

  test("a stranger's punch offer: at most 2,500 probes per offer, 10,000 for all strangers together", async () => {
    // Ten throwaway keys each claim our own LAN (so the offer is acted on) and name 64 ports (the
    // most an offer may): unbudgeted, each would probe every port every interval for the window.
    const OFFERS = 10;
    const sockets = await Promise.all(
      Array.from({ length: 64 }, async () => {
        const u = createSocket("udp4");
        await new Promise<void>((r) => u.bind(0, "127.0.0.1", r));
        return u;
      }),
    );
    let packets = 0;
    // Each offer punches from a socket of its own: probes per offer, by source port.
    const perOffer = new Map<number, number>();
    for (const u of sockets)
      u.on("message", (_m, ri) => {
        packets++;
        perOffer.set(ri.port, (perOffer.get(ri.port) ?? 0) + 1);
      });
    const ports = sockets.map((u) => u.address().port);
    // A node of its own: the offers above spent the node-wide offer budget (per minute).
    const fresh = await startTarget(broker.url, process.env.P2PD_TEST_VERBOSE ? ["--verbose"] : []);
    const to = parseAddress(fresh.addr);
    if (!to.keys) throw new Error("no keys");
    const mqtt = await import("mqtt");
    const c = await mqtt.default.connectAsync(broker.url, { protocolVersion: 4 });
    const t0 = performance.now();
    let elapsed = 0;
    try {
      for (let i = 0; i < OFFERS; i++) {
        const k = deriveKeys(randomBytes(32));
        const from = formatAddress({
          ...to,
          nodeId: k.nodeId,
          keys: { x25519: k.x25519.publicKey, ed25519: k.ed25519.publicKey },
        });
        const msg = {
          type: "UDP_OFFER",
          from,
          host: "127.0.0.1",
          ports,
          rttMs: 5,
          family: 4,
          pipeId: randomBytes(16).toString("hex"),
        };
        await c.publishAsync(
          to.nodeId,
          sealEnvelope(k, to.keys.x25519, Buffer.from(JSON.stringify(msg))),
          { qos: 1 },
        );
      }
      // Every punch window has ended by then.
      await sleep(10_000);
      elapsed = performance.now() - t0;
    } finally {
      await c.endAsync();
      await fresh.stop();
      for (const u of sockets) u.close();
    }
    console.log(
      `probe budget: ${OFFERS} offers x 64 ports drew ${packets} probes (per offer: ${[...perOffer.values()].join(", ")})`,
    );
    // The offers were acted on (probes came from each), within the budgets.
    expect(perOffer.size).toBeGreaterThan(0);
    for (const n of perOffer.values()) expect(n).toBeLessThanOrEqual(2500);
    // The bucket holds 10,000 and refills 10,000 a minute while the offers run.
    expect(packets).toBeLessThanOrEqual(10_000 + Math.ceil((elapsed / 60_000) * 10_000));
  }, 60_000);
});
