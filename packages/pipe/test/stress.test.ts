import { describe, expect, test } from "vitest";
import { isPipeError, pipeOpen } from "../src/index.js";

const settle = () => new Promise((r) => setTimeout(r, 30));
const sockets = () => process.getActiveResourcesInfo().filter((r) => /TCP|UDP/.test(r)).length;

describe("closing under load", () => {
  test("closing either side mid-stream ends both pipes cleanly, with typed errors only", async () => {
    await settle();
    const before = sockets();
    const server = await pipeOpen("tcp", { host: "127.0.0.1" });
    const errors: unknown[] = [];
    for (let round = 0; round < 10; round++) {
      const client = await pipeOpen("tcp", undefined, server.local);
      const child = await server.accept();
      client.on("error", (e) => errors.push(e));
      child.on("error", (e) => errors.push(e));
      // Both sides blast until something closes; every rejection must be a PipeError.
      const blast = async (p: typeof client) => {
        const buf = Buffer.alloc(4096, round);
        for (;;) {
          try {
            await p.send(buf);
          } catch (e) {
            expect(isPipeError(e)).toBe(true);
            return;
          }
        }
      };
      const a = blast(client);
      const b = blast(child);
      await new Promise((r) => setTimeout(r, 5));
      if (round % 3 === 0) await client.close();
      else if (round % 3 === 1) await child.close({ reset: true });
      else await server.close();
      await Promise.all([a, b]);
      await Promise.all([client.close(), child.close()]);
      if (round % 3 === 2) break;
    }
    await server.close();
    for (const e of errors) expect(isPipeError(e)).toBe(true);
    await settle();
    expect(sockets()).toBe(before);
  });

  test("many concurrent clients and a server closing while they connect", async () => {
    await settle();
    const before = sockets();
    const server = await pipeOpen("tcp", { host: "127.0.0.1" }, undefined, {
      onMessage: (m) => m.pipe.send(m.data),
    });
    const attempts = Array.from({ length: 40 }, async (_, i) => {
      try {
        const c = await pipeOpen("tcp", undefined, server.local);
        try {
          await c.send(`n${i}`);
          await c.recv({ timeout: 2000 });
        } catch (e) {
          expect(isPipeError(e)).toBe(true);
        } finally {
          await c.close();
        }
      } catch (e) {
        expect(isPipeError(e)).toBe(true);
      }
    });
    await new Promise((r) => setTimeout(r, 2));
    await server.close();
    await Promise.all(attempts);
    await settle();
    expect(sockets()).toBe(before);
  });
});
