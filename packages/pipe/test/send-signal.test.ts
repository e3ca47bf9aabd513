import { createSocket } from "node:dgram";
import { createServer, type Socket } from "node:net";
import { describe, expect, test } from "vitest";
import { isPipeError, pipeOpen } from "../src/index.js";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("send({ signal })", () => {
  test("TCP: a send waiting for buffer room (peer not reading) is cut by its signal", async () => {
    const held: Socket[] = [];
    const raw = createServer((s) => {
      s.pause(); // never reads: the client's buffers fill up
      held.push(s);
    });
    await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
    const port = (raw.address() as { port: number }).port;
    const client = await pipeOpen("tcp", undefined, { host: "127.0.0.1", port });
    const ac = new AbortController();
    const big = Buffer.alloc(1 << 20);
    let stuck: Promise<number> | undefined;
    for (let i = 0; i < 512 && !stuck; i++) {
      const p = client.send(big, undefined, { signal: ac.signal });
      const settled = await Promise.race([p.then(() => true), tick(50).then(() => false)]);
      if (!settled) stuck = p;
    }
    expect(stuck).toBeDefined();
    ac.abort();
    const err = await (stuck as Promise<number>).catch((e) => e);
    expect(isPipeError(err, "ERR_ABORTED")).toBe(true);
    const pre = await client.send("x", undefined, { signal: AbortSignal.abort() }).catch((e) => e);
    expect(isPipeError(pre, "ERR_ABORTED")).toBe(true);
    await client.close({ reset: true });
    for (const s of held) s.destroy();
    await new Promise((r) => raw.close(r));
  });

  test("reliable UDP: aborting stops the retries and rejects with ERR_ABORTED", async () => {
    const silent = createSocket("udp4");
    let copies = 0;
    silent.on("message", () => copies++);
    await new Promise<void>((r) => silent.bind(0, "127.0.0.1", r));
    const p = await pipeOpen(
      "udp",
      { host: "127.0.0.1" },
      { host: "127.0.0.1", port: silent.address().port },
      { reliable: true, ackTimeoutMs: 30, ackTries: 50 },
    );
    const ac = new AbortController();
    const sending = p.send("hello?", undefined, { signal: ac.signal }).catch((e) => e);
    while (copies === 0) await tick(5);
    ac.abort();
    expect(isPipeError(await sending, "ERR_ABORTED")).toBe(true);
    const seen = copies;
    await tick(120); // four retry periods: none may follow the abort
    expect(copies).toBe(seen);
    await p.close();
    await new Promise<void>((r) => silent.close(() => r()));
  });
});
