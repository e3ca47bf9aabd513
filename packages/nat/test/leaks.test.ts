// Every socket and timer of a classification is released, on success, on silence, on abort and on a
// cache hit; an already-aborted signal gives NatError ERR_NAT_ABORTED from every async entry point.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StunServer } from "@p2pd/stun";
import { describe, expect, test } from "vitest";
import {
  defaultGatewayMac,
  detectNat,
  loadNat,
  NatCache,
  probeDelta,
  probeNat,
  resolveStunServer,
} from "../src/index.js";
import { fakeStun } from "./helpers/fake-stun.js";

function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) {
    if (/UDP|TCP|Timeout|FSReqCallback/.test(r)) out[r] = (out[r] ?? 0) + 1;
  }
  return out;
}

describe("resource hygiene", () => {
  test("detectNat leaves no socket or timer behind (answer, silence, abort, cache)", async () => {
    await new Promise((r) => setTimeout(r, 50));
    const before = resources();
    const server = await new StunServer({
      ips: ["127.0.0.1", "127.0.0.2"],
      port: 0,
      altPort: 0,
      protocols: ["udp"],
    }).listen();
    const silent = await fakeStun({ address: "127.0.0.5", silent: true });
    const dir = await mkdtemp(join(tmpdir(), "nat-leaks-"));
    try {
      const honest = `127.0.0.1:${server.primary.port}`;
      const dead = `127.0.0.5:${silent.port}`;
      expect((await detectNat({ servers: [honest] })).type).toBe("open-internet");
      expect((await detectNat({ servers: [dead], firstAnswerMs: 100 })).type).toBe("blocked");
      const ac = new AbortController();
      const p = detectNat({ servers: [honest, dead], signal: ac.signal });
      setTimeout(() => ac.abort(), 20);
      await expect(p).rejects.toMatchObject({ code: "ERR_NAT_ABORTED" });
      await detectNat({ servers: [honest], cache: dir });
      expect((await detectNat({ servers: [honest], cache: dir })).cached).toBe(true);
      await probeDelta(server.primary, { family: 4, samples: 4, timeoutMs: 200 });
    } finally {
      await Promise.all([server.close(), silent.close()]);
      await rm(dir, { recursive: true, force: true });
    }
    await new Promise((r) => setTimeout(r, 50));
    const after = resources();
    for (const [kind, n] of Object.entries(after))
      expect(`${kind}: ${n}`).toBe(`${kind}: ${Math.min(n, before[kind] ?? 0)}`);
  }, 20_000);

  test("an already-aborted signal: NatError ERR_NAT_ABORTED everywhere, nothing opened", async () => {
    const aborted = AbortSignal.abort();
    const cache = new NatCache({ dir: join(tmpdir(), "nat-never-created") });
    const id = { family: 4 as const, gatewayMac: "", externalIp: "192.0.2.1" };
    const result = {
      type: "full-cone" as const,
      delta: { kind: "equal" as const, value: 0 },
      mapped: [],
      ms: 1,
      family: 4 as const,
    };
    const calls: [string, () => Promise<unknown>][] = [
      ["detectNat", () => detectNat({ servers: ["127.0.0.1:9"], signal: aborted })],
      ["loadNat", () => loadNat({ servers: ["127.0.0.1:9"], signal: aborted })],
      ["probeNat", () => probeNat({ servers: ["127.0.0.1:9"], signal: aborted })],
      [
        "probeDelta",
        () => probeDelta({ host: "127.0.0.1", port: 9, family: 4 }, { family: 4, signal: aborted }),
      ],
      ["resolveStunServer (name)", () => resolveStunServer("localhost:9", 4, aborted)],
      ["NatCache.get", () => cache.get(id, { signal: aborted })],
      ["NatCache.set", () => cache.set(id, result, { signal: aborted })],
      ["NatCache.clear", () => cache.clear({ signal: aborted })],
      ["defaultGatewayMac", () => defaultGatewayMac({ signal: aborted })],
    ];
    for (const [name, call] of calls) {
      const err = await call().then(
        () => "resolved",
        (e: unknown) => e,
      );
      expect(err, name).toMatchObject({ name: "NatError", code: "ERR_NAT_ABORTED" });
    }
  });
});
