import { createSocket } from "node:dgram";
import { describe, expect, test } from "vitest";
import { pipeOpen } from "../src/index.js";
import { code, handles, settle, timers } from "./helpers.js";

function resources() {
  return { sockets: handles(), timers: timers() };
}

describe("UDP recv({ sub, timeout, signal }), iteration and close", () => {
  test("recv on UDP: per-subscription, timeout and abort give typed errors", async () => {
    const server = await pipeOpen("udp", { host: "127.0.0.1" });
    const client = await pipeOpen("udp", { host: "127.0.0.1" }, server.local);
    server.subscribe(["^a"]);
    server.subscribe(["^b"]);
    // Nothing sent yet: the timeout fires on UDP as on TCP.
    expect(await code(server.recv({ sub: ["^a"], timeout: 20 }))).toBe("ERR_RECV_TIMEOUT");
    // A waiting recv is cut by its signal; a pre-aborted one never waits.
    const ac = new AbortController();
    const waiting = server.recv({ sub: ["^b"], timeout: 0, signal: ac.signal });
    ac.abort();
    expect(await code(waiting)).toBe("ERR_ABORTED");
    expect(await code(server.recv({ sub: ["^b"], signal: AbortSignal.abort() }))).toBe(
      "ERR_ABORTED",
    );
    expect(await code(server.recv({ sub: ["^a"], timeout: -1 }))).toBe("ERR_BAD_ARGUMENT");
    // Messages go to the queue their pattern names, and a waiter gets the next one.
    const b = server.recvFull({ sub: ["^b"], timeout: 2000, signal: AbortSignal.timeout(5000) });
    await client.send("a1");
    await client.send("b1");
    const got = await b;
    expect(got.data.toString()).toBe("b1");
    expect(got.from).toEqual(client.local);
    expect((await server.recv({ sub: ["^a"], timeout: 2000 })).toString()).toBe("a1");
    await Promise.all([server.close(), client.close()]);
  });

  test("for await over a UDP pipe yields datagrams until the pipe closes", async () => {
    const server = await pipeOpen("udp", { host: "::1" });
    const client = await pipeOpen("udp", { host: "::1" }, server.local);
    const seen: string[] = [];
    const loop = (async () => {
      for await (const m of server.messages({ sub: ["^n"] })) {
        seen.push(m.data.toString());
        await m.pipe.send(`ack ${m.data}`, m.from);
      }
    })();
    await new Promise((r) => setImmediate(r));
    for (const n of ["n1", "n2", "n3"]) {
      await client.send(n);
      expect((await client.recv({ timeout: 2000 })).toString()).toBe(`ack ${n}`);
    }
    await server.close();
    await loop; // the iterator ends at close instead of hanging
    expect(seen).toEqual(["n1", "n2", "n3"]);
    // The loop's own subscription was removed when it ended.
    expect(server.subscription(["^n"])).toBeUndefined();
    await client.close();
  });

  test("close() releases the socket and every timer: pending recv, accept, reliable send", async () => {
    await settle();
    const before = resources();
    const silent = createSocket("udp4");
    await new Promise<void>((r) => silent.bind(0, "127.0.0.1", r));
    const dest = { host: "127.0.0.1", port: silent.address().port };
    const udp = await pipeOpen("udp", { host: "127.0.0.1" }, dest, {
      reliable: true,
      ackTimeoutMs: 60_000,
    });
    const tcp = await pipeOpen("tcp", { host: "127.0.0.1" });
    const pending = [
      udp.recv({ timeout: 60_000 }),
      udp.recv({ timeout: 60_000, signal: new AbortController().signal }),
      udp.send("never acked"),
      tcp.accept({ timeout: 60_000 }),
    ];
    const iterating = udp.messages().next();
    await settle();
    const during = resources();
    expect(during.timers).toBeGreaterThan(before.timers);
    expect(during.sockets).toBeGreaterThan(before.sockets);
    await Promise.all([udp.close(), tcp.close()]);
    for (const p of pending) expect(await code(p)).toBe("ERR_CLOSED");
    expect((await iterating).done).toBe(true);
    await new Promise<void>((r) => silent.close(() => r()));
    await settle();
    const after = resources();
    expect(after.sockets).toBe(before.sockets);
    // Unrelated runner timers may come and go; ours must all be gone.
    expect(after.timers).toBeLessThanOrEqual(before.timers);
  });
});
