// The UDP hot paths (issue 19): literal destinations leave in send()'s own tick, and a recv()
// with no timeout and no signal waits without a cancel closure. Same bytes, same errors.
import { describe, expect, test } from "vitest";
import { pipeOpen } from "../src/index.js";
import { literalLookup } from "../src/udp.js";
import { code } from "./helpers.js";

describe("UDP send and recv fast paths", () => {
  test("literalLookup answers IP literals synchronously and resolves names through DNS", async () => {
    const seen: unknown[] = [];
    literalLookup("127.0.0.1", 4, (err, addr, fam) => seen.push([err, addr, fam]));
    literalLookup("fe80::1%lo", 6, (err, addr, fam) => seen.push([err, addr, fam]));
    // Called before returning: no tick between send() and sendmsg.
    expect(seen).toEqual([
      [null, "127.0.0.1", 4],
      [null, "fe80::1%lo", 6],
    ]);
    const byName = await new Promise<[Error | null, string, number]>((resolve) =>
      literalLookup("localhost", 4, (err, addr, fam) => resolve([err, addr, fam])),
    );
    expect(byName).toEqual([null, "127.0.0.1", 4]);
  });

  test("datagrams of every size arrive byte for byte, in order, to the pipe's and an explicit destination", async () => {
    const server = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, { autoSubscribe: true });
    const client = await pipeOpen("udp", { host: "127.0.0.1" }, server.local);
    const sizes = [0, 1, 64, 1500, 9000, 65507];
    const sent: Buffer[] = [];
    for (const [i, n] of sizes.entries()) {
      const b = Buffer.alloc(n);
      for (let j = 0; j < n; j++) b[j] = (j * 31 + i) & 0xff;
      sent.push(b);
      // Alternate the default destination and an explicit one (the echo server's path).
      expect(await (i % 2 ? client.send(b, server.local) : client.send(b))).toBe(n);
    }
    for (const b of sent) expect((await server.recv({ timeout: 0 })).equals(b)).toBe(true);
    // A reply to `from` (a Node-reported literal) takes the same path back.
    await server.send("back", client.local);
    const m = await client.recvFull({ timeout: 0 });
    expect(m.data.toString()).toBe("back");
    expect(m.from).toEqual(server.local);
    await Promise.all([server.close(), client.close()]);
  });

  test("a host name destination is still resolved before sending", async () => {
    const server = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, { autoSubscribe: true });
    const client = await pipeOpen("udp", { host: "127.0.0.1" });
    expect(await client.send("named", { host: "localhost", port: server.local.port })).toBe(5);
    expect((await server.recv({ timeout: 2000 })).toString()).toBe("named");
    await Promise.all([server.close(), client.close()]);
  });

  test("a failed sendto still rejects with ERR_SEND, and size limits still hold", async () => {
    const p = await pipeOpen("udp", { host: "0.0.0.0" });
    // Broadcast without SO_BROADCAST: the kernel refuses (EACCES) before anything leaves.
    expect(await code(p.send("x", { host: "255.255.255.255", port: 9 }))).toBe("ERR_SEND");
    expect(await code(p.send(Buffer.alloc(65508), { host: "127.0.0.1", port: 9 }))).toBe(
      "ERR_MSG_TOO_LARGE",
    );
    await p.close();
    expect(await code(p.send("x", { host: "127.0.0.1", port: 9 }))).toBe("ERR_CLOSED");
  });

  test("recv with no timeout and no signal: queued first, then a waiter, then ERR_CLOSED", async () => {
    const server = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, { autoSubscribe: true });
    const client = await pipeOpen("udp", { host: "127.0.0.1" }, server.local);
    await client.send("q1");
    // Let it arrive and queue before anyone waits.
    await new Promise((r) => setTimeout(r, 50));
    expect((await server.recv({ timeout: 0 })).toString()).toBe("q1");
    const waiting = server.recvFull({ timeout: 0 });
    await client.send("w1");
    const m = await waiting;
    expect(m.data.toString()).toBe("w1");
    expect(m.from).toEqual(client.local);
    const pending = server.recv({ timeout: 0 });
    await server.close();
    expect(await code(pending)).toBe("ERR_CLOSED");
    expect(await code(server.recv({ timeout: 0 }))).toBe("ERR_CLOSED");
    await client.close();
  });

  test("an `error`-policy overflow is still reported once by a recv with no timeout", async () => {
    const server = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, {
      maxQueue: 1,
      overflow: "error",
      autoSubscribe: true,
    });
    const client = await pipeOpen("udp", { host: "127.0.0.1" }, server.local);
    await client.send("a");
    await client.send("b");
    await new Promise((r) => setTimeout(r, 50));
    expect(await code(server.recv({ timeout: 0 }))).toBe("ERR_QUEUE_FULL");
    expect((await server.recv({ timeout: 0 })).toString()).toBe("a");
    await Promise.all([server.close(), client.close()]);
  });

  test("a pipe closed with nobody reading still rejects later recv() calls with one ERR_CLOSED", async () => {
    const p = await pipeOpen("udp", { host: "127.0.0.1" }, { host: "127.0.0.1", port: 9 });
    p.subscribe(["^x"]);
    await p.close();
    const errs = await Promise.all(
      [p.recv({ timeout: 0 }), p.recv({ timeout: 50 }), p.recv({ sub: ["^x"], timeout: 0 })].map(
        (r) =>
          r.then(
            () => undefined,
            (e: unknown) => e,
          ),
      ),
    );
    for (const e of errs) expect((e as { code?: string }).code).toBe("ERR_CLOSED");
    // Built once, on first need, and shared by the pipe's queues.
    expect(errs[0]).toBe(errs[1]);
    expect(errs[0]).toBe(errs[2]);
  });
});
