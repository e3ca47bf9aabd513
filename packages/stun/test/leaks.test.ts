// Every socket and timer is released: after a busy session, Node's active resources are back to baseline.
import { describe, expect, test } from "vitest";
import { getExternalAddress, getMappedAddress, StunClient, StunServer } from "../src/index.js";
import { rfc5780Loopback, udpSink } from "./helpers.js";

function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) {
    if (/UDP|TCP|Timeout|Pipe/.test(r)) out[r] = (out[r] ?? 0) + 1;
  }
  return out;
}

describe("resource hygiene", () => {
  test("servers, clients, timeouts, aborts and errors leave no socket or timer behind", async () => {
    await new Promise((r) => setTimeout(r, 50));
    const before = resources();
    const a = await rfc5780Loopback();
    const b = await new StunServer({ ips: ["127.0.0.1"], port: 0 }).listen();
    await getMappedAddress(a.primary);
    await getMappedAddress(a.primary, { protocol: "tcp" });
    await getExternalAddress([a.primary, b.primary], { waitAll: true });
    await getExternalAddress([a.primary, b.primary], { protocol: "tcp" });
    const c = await StunClient.udp();
    await c.binding(a.primary, { changeIp: true, changePort: true });
    c.close();
    const sink = await udpSink();
    const dead = { host: "127.0.0.1", port: sink.address().port };
    await getMappedAddress(dead, { timeoutMs: 50 }).catch(() => {});
    await getMappedAddress(dead, { signal: AbortSignal.timeout(30) }).catch(() => {});
    await getExternalAddress([dead, a.primary, b.primary], { timeoutMs: 100, waitAll: true });
    const pending = StunClient.udp().then((cl) => {
      const p = cl.binding(dead).catch((e) => e.code);
      cl.close(); // closing with a transaction in flight rejects it
      return p;
    });
    expect(await pending).toBe("ERR_STUN_CLOSED");
    // close() while listen() is still binding (at several points of it): listen rejects with
    // ERR_STUN_CLOSED (or had finished), and nothing bound meanwhile stays open.
    const racing = new StunServer({ ips: ["127.0.0.1", "127.0.0.2"], port: 0, altPort: 0 });
    const listening = racing.listen().catch((e) => e);
    await racing.close();
    expect(await listening).toMatchObject({ name: "StunError", code: "ERR_STUN_CLOSED" });
    for (const ticks of [1, 2, 3, 5, 8]) {
      const s = new StunServer({ ips: ["127.0.0.1", "127.0.0.2"], port: 0, altPort: 0 });
      const p = s.listen().catch((e) => e);
      for (let i = 0; i < ticks; i++) await new Promise((r) => setImmediate(r));
      await s.close();
      const r = await p;
      if (r !== s)
        expect(r, `close after ${ticks} ticks`).toMatchObject({ code: "ERR_STUN_CLOSED" });
    }
    sink.close();
    await a.close();
    await b.close();
    await new Promise((r) => setTimeout(r, 50));
    // No kind of resource grew (the runner's own timers may come and go, hence ≤ rather than =).
    const after = resources();
    for (const [kind, n] of Object.entries(after))
      expect(`${kind}: ${n}`).toBe(`${kind}: ${Math.min(n, before[kind] ?? 0)}`);
  });
});
