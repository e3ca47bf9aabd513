import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { deriveKeys, echo, formatAddress, parseAddress, sealEnvelope } from "../../src/index.js";
import { type Arena, built, sleep, startArena } from "./harness.js";

// 10,000 throwaway keys each send the node one signed, well-formed request (CONNECT, punch
// offers naming themselves, PING, TURN_OFFER): rate limits and fair slots keep the node up, a
// real peer connects during the flood, and signals with it again once the flood is over.
const KEYS = 10_000;

let arena: Arena;
let made = 0;
const envelopes: Buffer[] = [];

beforeAll(async () => {
  if (!built) return;
  arena = await startArena();
  const { target, peer } = arena;
  // Signing 10,000 envelopes takes seconds on a loaded machine: outside the test's own budget.
  const to = parseAddress(target.addr);
  if (!to.keys) throw new Error("target address has no keys");
  const template = parseAddress(peer.address);
  const types = ["CONNECT", "UDP_OFFER", "TCP_OFFER", "PING", "TURN_OFFER"];
  const t0 = performance.now();
  for (let i = 0; i < KEYS; i++) {
    const k = deriveKeys(randomBytes(32));
    const from = formatAddress({
      ...template,
      nodeId: k.nodeId,
      keys: { x25519: k.x25519.publicKey, ed25519: k.ed25519.publicKey },
    });
    const body = {
      type: types[i % types.length],
      pipeId: randomBytes(16).toString("hex"),
      from,
      host: "127.0.0.1",
      ports: [9],
      rttMs: 5,
      family: 4,
      relay: { host: "127.0.0.1", port: 9 },
    };
    envelopes.push(sealEnvelope(k, to.keys.x25519, Buffer.from(JSON.stringify(body))));
  }
  made = performance.now() - t0;
}, 180_000);
afterAll(() => arena?.close());

describe.skipIf(!built)("adversary: signaling flood", () => {
  test("10,000 throwaway keys: a real peer still connects", async () => {
    const { broker, target, peer } = arena;
    const to = parseAddress(target.addr);
    if (!to.keys) throw new Error("target address has no keys");
    const mqtt = await import("mqtt");
    const c = await mqtt.default.connectAsync(broker.url, { protocolVersion: 4 });
    const t1 = performance.now();
    const flood = (async () => {
      for (let i = 0; i < envelopes.length; i += 500) {
        await Promise.all(
          envelopes.slice(i, i + 500).map((e) => c.publishAsync(to.nodeId, e, { qos: 0 })),
        );
      }
    })();
    // During the flood: a direct connection and ECHO.
    const r = await peer.connect(target.addr, { strategies: ["direct"], timeoutMs: 30_000 });
    expect((await echo(r.pipe, "during")).toString()).toBe("during");
    const during = performance.now() - t1;
    await r.pipe.close();
    await flood;
    const published = performance.now() - t1;
    // After it: signaling works again (PING) and so does a connect that needs it (reverse).
    let pingMs = Number.NaN;
    // The target drains the flood's backlog (each envelope is opened before it can be
    // rate limited): on a loaded machine that takes a while, so wait by deadline, not count.
    const until = performance.now() + 120_000;
    while (Number.isNaN(pingMs) && performance.now() < until) {
      pingMs = await peer.ping(target.addr, { timeoutMs: 2000 }).catch(() => Number.NaN);
      if (Number.isNaN(pingMs)) await sleep(500);
    }
    const recovered = performance.now() - t1;
    // The target may still be draining the flood's backlog: a legitimate peer retries, as a
    // real one would (at most three attempts).
    let rev: Awaited<ReturnType<typeof peer.connect>> | undefined;
    for (let i = 0; i < 3 && !rev; i++) {
      rev = await peer
        .connect(target.addr, { strategies: ["reverse"], timeoutMs: 20_000 })
        .catch((e: unknown) => (i === 2 ? Promise.reject(e) : undefined));
    }
    if (!rev) throw new Error("reverse connect did not succeed");
    expect((await echo(rev.pipe, "after")).toString()).toBe("after");
    await rev.pipe.close();
    await c.endAsync();
    console.log(
      `signal flood: ${KEYS} keys and envelopes made in ${made.toFixed(0)} ms, published in ` +
        `${published.toFixed(0)} ms; direct connect + ECHO during it at ${during.toFixed(0)} ms; ` +
        `PING answered (${pingMs.toFixed(0)} ms) at ${recovered.toFixed(0)} ms; reverse connect after`,
    );
    expect(Number.isNaN(pingMs)).toBe(false);
  }, 240_000);
});
