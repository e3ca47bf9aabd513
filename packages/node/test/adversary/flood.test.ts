import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { echo } from "../../src/index.js";
import { NODE_MAX_MESSAGE, NODE_QUEUE_BUDGET } from "../../src/pipe.js";
import { type Arena, built, frame, rawConnect, rssMiB, sleep, startArena } from "./harness.js";

// 1 GiB of max-size (1 MiB) frames over 32 sockets at a node process that nobody reads for:
// its resident memory stays within the node's designed bound, whatever the volume, and it keeps
// serving a real peer.
const SOCKETS = 32;
const FRAMES = 32; // 32 x 32 x 1 MiB = 1 GiB
const MIB = 2 ** 20;
// The design: unread messages of all pipes share a 16 MiB budget; a pipe that meets a spent
// budget pauses after the message it was reading, and may hold one partial frame. So each
// identified flooder pins at most 2 frames beyond the budget: 16 + 32 x 2 x 1 MiB = 80 MiB of
// buffers, plus a quarter for the allocator and V8 (measured: +79 to +104 MiB in CI runs). The
// flood is 1 GiB, so a bound this size proves memory does not follow the volume.
const BOUND_MIB =
  Math.ceil(((NODE_QUEUE_BUDGET + SOCKETS * 2 * NODE_MAX_MESSAGE) / MIB) * 1.25) + 16;

let arena: Arena;

beforeAll(async () => {
  if (!built) return;
  // Plaintext: the flooders speak raw frames. The budgets sit below the Noise channel, and a
  // stranger can complete a Noise handshake with a throwaway key and flood the same way.
  arena = await startArena({ targetArgs: ["--insecure"], peer: { insecure: true } });
}, 20_000);
afterAll(() => arena?.close());

describe.skipIf(!built)("adversary: memory flood", () => {
  test("1 GiB of 1 MiB frames: RSS grows by the queue budget plus two frames per flooder at most, not with the volume; a real peer is served", async () => {
    await sleep(500);
    const idle = rssMiB(arena.target.pid);
    let peak = idle;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMiB(arena.target.pid) || 0);
    }, 25);
    const big = frame(Buffer.alloc(1024 * 1024, 0x61));
    const t0 = performance.now();
    let sent = 0;
    const served: number[] = [];
    let done = false;
    let offered = 0;
    // The node reads only while someone reads it or its budget has room: the flooders stall on
    // TCP backpressure, so each gets a bounded time to push its 32 MiB.
    const deadline = performance.now() + 8000;
    // Every flooder identifies itself (an adopted pipe nobody reads: the worst case for memory).
    const flooders = Array.from({ length: SOCKETS }, async (_, i) => {
      const s = await rawConnect(arena.target.port);
      s.write(frame(Buffer.from(`ID ${i.toString(16).padStart(32, "f")}`)));
      for (let f = 0; f < FRAMES && !s.destroyed && performance.now() < deadline; f++) {
        offered += big.length - 4;
        if (!s.write(big))
          await new Promise((r) => {
            const t = setTimeout(r, Math.max(0, deadline - performance.now()));
            const done = () => {
              clearTimeout(t);
              r(undefined);
            };
            s.once("drain", done);
            s.once("close", done);
          });
      }
      // What the kernel still holds for us never reached the node: count what left.
      sent += s.bytesWritten - s.writableLength;
      s.destroy();
    });
    // And as many that never identify, reconnecting as soon as they are cut off (64 KiB before an
    // ID), until 1 GiB has been pushed in all.
    let cut = 0;
    const strangers = Array.from({ length: SOCKETS }, async () => {
      while (offered < SOCKETS * FRAMES * 2 ** 20 && performance.now() < deadline) {
        const s = await rawConnect(arena.target.port).catch(() => undefined);
        if (!s) continue;
        const closed = new Promise((r) => s.once("close", r));
        for (let f = 0; f < 4 && !s.destroyed; f++) s.write(big);
        await closed;
        offered += s.bytesWritten;
        cut++;
      }
    });
    // Meanwhile a real peer connects and echoes, again and again.
    const serving = (async () => {
      while (!done) {
        const t = performance.now();
        const r = await arena.peer.connect(arena.target.addr, {
          strategies: ["direct"],
          timeoutMs: 10_000,
        });
        expect((await echo(r.pipe, "alive", { timeoutMs: 10_000 })).toString()).toBe("alive");
        served.push(performance.now() - t);
        await r.pipe.close();
        await sleep(100);
      }
    })();
    await Promise.all([...flooders, ...strangers]);
    done = true;
    await serving;
    const secs = (performance.now() - t0) / 1000;
    await sleep(300);
    clearInterval(sampler);
    const growth = peak - idle;
    console.log(
      `flood: ${(offered / 2 ** 30).toFixed(2)} GiB offered in ${secs.toFixed(1)} s over ${SOCKETS} ` +
        `sockets, ${(sent / 2 ** 20).toFixed(0)} MiB taken by the node's sockets; ` +
        `target RSS idle ${idle.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB (+${growth.toFixed(0)}); ` +
        `${served.length} echoes served, slowest ${Math.max(...served).toFixed(0)} ms; ` +
        `${cut} unidentified connections cut off`,
    );
    expect(growth).toBeLessThan(BOUND_MIB);
    expect(served.length).toBeGreaterThan(0);
    expect(cut).toBeGreaterThanOrEqual(SOCKETS);
    expect(offered).toBeGreaterThanOrEqual(2 ** 30 * 0.9);
  }, 120_000);
});
