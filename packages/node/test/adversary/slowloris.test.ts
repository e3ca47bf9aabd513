import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { echo } from "../../src/index.js";
import { type Arena, built, rawConnect, sleep, startArena } from "./harness.js";

// 1,000 sockets that connect and never say a word: every one is closed by the handshake timeout
// (here 3 s; default 10 s) or evicted by the connection cap, and the node serves a real peer
// throughout.
const IDLE = 1000;
const HANDSHAKE_MS = 3000;

let arena: Arena;

beforeAll(async () => {
  if (!built) return;
  arena = await startArena({ targetArgs: ["--handshake", String(HANDSHAKE_MS)] });
}, 20_000);
afterAll(() => arena?.close());

describe.skipIf(!built)("adversary: slowloris", () => {
  test("1,000 idle sockets are all closed; a real peer is served meanwhile", async () => {
    const t0 = performance.now();
    let closed = 0;
    let lastClose = 0;
    const sockets = [];
    for (let i = 0; i < IDLE; i += 100) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(100, IDLE - i) }, () => rawConnect(arena.target.port)),
      );
      for (const s of batch) {
        s.once("close", () => {
          closed++;
          lastClose = performance.now() - t0;
        });
        sockets.push(s);
      }
    }
    const opened = performance.now() - t0;
    const served: number[] = [];
    while (closed < IDLE && performance.now() - t0 < HANDSHAKE_MS + 8000) {
      const t = performance.now();
      const r = await arena.peer.connect(arena.target.addr, {
        strategies: ["direct"],
        timeoutMs: 5000,
      });
      expect((await echo(r.pipe, "alive")).toString()).toBe("alive");
      served.push(performance.now() - t);
      await r.pipe.close();
      await sleep(250);
    }
    console.log(
      `slowloris: ${IDLE} idle sockets opened in ${opened.toFixed(0)} ms; ${closed} closed, ` +
        `the last after ${lastClose.toFixed(0)} ms; ${served.length} echoes served meanwhile, ` +
        `slowest ${Math.max(...served).toFixed(0)} ms`,
    );
    expect(closed).toBe(IDLE);
    expect(lastClose).toBeLessThan(opened + HANDSHAKE_MS + 3000);
    expect(served.length).toBeGreaterThan(0);
    for (const s of sockets) s.destroy();
  }, 60_000);
});
