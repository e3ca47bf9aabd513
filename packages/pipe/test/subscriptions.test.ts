import { describe, expect, test } from "vitest";
import { isPipeError, type Message, pipeOpen, type UdpPipe } from "../src/index.js";
import { parseSub, Subscription } from "../src/subscription.js";

async function udpPair() {
  const server = await pipeOpen("udp", { host: "127.0.0.1" });
  const client = await pipeOpen("udp", { host: "127.0.0.1" }, server.local);
  return { server, client, close: () => Promise.all([server.close(), client.close()]) };
}

/** Sends and waits until the server has seen `n` datagrams (loopback does not reorder). */
async function sendAll(client: UdpPipe, server: UdpPipe, msgs: string[]) {
  let seen = 0;
  const all = new Promise<void>((resolve) => {
    const off = server.onMessage(() => {
      if (++seen === msgs.length) {
        off();
        resolve();
      }
    });
  });
  for (const m of msgs) await client.send(m);
  await all;
}

describe("subscriptions", () => {
  test("tuple and object forms name the same queue; order of patterns matters", () => {
    expect(parseSub(["a", "b"]).key).toBe(parseSub({ msg: "a", addr: "b" }).key);
    expect(parseSub(["a", "b"]).key).not.toBe(parseSub(["b", "a"]).key);
    expect(parseSub([Buffer.from("a"), /b/]).key).toBe(parseSub(["a", "b"]).key);
    expect(parseSub(undefined).key).toBe(parseSub(["", ""]).key);
    expect(parseSub({}).key).toBe(parseSub([null, undefined]).key);
  });

  test("a regex that does not compile is ERR_BAD_REGEX", async () => {
    const p = await pipeOpen("udp", { host: "127.0.0.1" });
    for (const bad of [["("], [undefined, "[a-"], { msg: "*x" }] as const) {
      let err: unknown;
      try {
        p.subscribe(bad);
      } catch (e) {
        err = e;
      }
      expect(isPipeError(err, "ERR_BAD_REGEX")).toBe(true);
    }
    await p.close();
  });

  test("bad queue options are ERR_BAD_ARGUMENT, at subscribe and at open", async () => {
    const p = await pipeOpen("udp", { host: "127.0.0.1" });
    for (const bad of [
      { maxQueue: -1 },
      { maxQueue: 1.5 },
      { overflow: "drop-everything" },
      { handler: "not a function" },
    ]) {
      expect(() => p.subscribe(["x"], bad as never)).toThrow(
        expect.objectContaining({ code: "ERR_BAD_ARGUMENT" }),
      );
    }
    expect(p.subscription(["x"])).toBeUndefined();
    await p.close();
    for (const bad of [{ maxQueue: -5 }, { overflow: "bogus" }]) {
      const err = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, bad as never).catch(
        (e) => e,
      );
      expect(isPipeError(err, "ERR_BAD_ARGUMENT")).toBe(true);
    }
  });

  test("recv on a missing subscription is ERR_NOT_SUBSCRIBED (UDP server has none by default)", async () => {
    const p = await pipeOpen("udp", { host: "127.0.0.1" });
    const err = await p.recv().catch((e) => e);
    expect(isPipeError(err, "ERR_NOT_SUBSCRIBED")).toBe(true);
    const err2 = await p.recv({ sub: ["x"] }).catch((e) => e);
    expect(isPipeError(err2, "ERR_NOT_SUBSCRIBED")).toBe(true);
    await p.close();
  });

  test("messages are sorted by message regex and copied to every matching queue", async () => {
    const { server, client, close } = await udpPair();
    server.subscribe(); // catch-all
    server.subscribe(["^meow"]);
    server.subscribe({ msg: /woof$/ });
    server.subscribe([Buffer.from([0xff, 0x00])]); // byte patterns match via latin1
    await sendAll(client, server, ["meow 1", "a woof", "meow woof", "none"]);
    await client.send(Buffer.from([1, 0xff, 0x00, 2]));
    expect([...(await server.recv({ sub: [Buffer.from([0xff, 0x00])] }))]).toEqual([1, 0xff, 0, 2]);
    const meows: string[] = [];
    while (server.subscription(["^meow"])?.size)
      meows.push((await server.recv({ sub: ["^meow"] })).toString());
    expect(meows).toEqual(["meow 1", "meow woof"]);
    expect((await server.recv({ sub: { msg: /woof$/ } })).toString()).toBe("a woof");
    expect((await server.recv({ sub: { msg: /woof$/ } })).toString()).toBe("meow woof");
    expect(server.subscription()?.size).toBe(5);
    await close();
  });

  test("address regex filters by sender ip:port", async () => {
    const { server, client, close } = await udpPair();
    const other = await pipeOpen("udp", { host: "127.0.0.1" }, server.local);
    const mine = `^127\\.0\\.0\\.1:${client.local.port}$`;
    server.subscribe([null, mine]);
    await sendAll(other, server, ["from other"]);
    await sendAll(client, server, ["from client"]);
    const m = await server.recvFull({ sub: [null, mine] });
    expect(m.data.toString()).toBe("from client");
    expect(m.from.port).toBe(client.local.port);
    expect(server.subscription([null, mine])?.size).toBe(0);
    await other.close();
    await close();
  });

  test("overflow policies: drop-oldest (default), drop-newest, error", async () => {
    const { server, client, close } = await udpPair();
    server.subscribe(["^a"], { maxQueue: 2 });
    server.subscribe(["^b"], { maxQueue: 2, overflow: "drop-newest" });
    const errSub = server.subscribe(["^c"], { maxQueue: 2, overflow: "error" });
    await sendAll(client, server, ["a1", "a2", "a3", "b1", "b2", "b3", "c1", "c2", "c3"]);
    expect((await server.recv({ sub: ["^a"] })).toString()).toBe("a2");
    expect((await server.recv({ sub: ["^a"] })).toString()).toBe("a3");
    expect((await server.recv({ sub: ["^b"] })).toString()).toBe("b1");
    expect((await server.recv({ sub: ["^b"] })).toString()).toBe("b2");
    expect(errSub.dropped).toBe(1);
    const e = await server.recv({ sub: ["^c"] }).catch((x) => x);
    expect(isPipeError(e, "ERR_QUEUE_FULL")).toBe(true);
    expect((await server.recv({ sub: ["^c"] })).toString()).toBe("c1");
    await close();
  });

  test("a handler subscription receives instead of queueing; unsubscribe wakes waiters", async () => {
    const { server, client, close } = await udpPair();
    const got: string[] = [];
    const s = server.subscribe(["^h"], {
      handler: (m: Message) => void got.push(m.data.toString()),
    });
    await sendAll(client, server, ["h1", "x"]);
    expect(got).toEqual(["h1"]);
    expect(s.size).toBe(0);
    server.subscribe(["^w"]);
    const waiting = server.recv({ sub: ["^w"], timeout: 0 }).catch((e) => e);
    expect(server.unsubscribe(["^w"])).toBe(true);
    expect(isPipeError(await waiting, "ERR_NOT_SUBSCRIBED")).toBe(true);
    expect(server.unsubscribe(["^w"])).toBe(false);
    await close();
  });

  test("Subscription queue stays bounded under sustained overflow (pure logic)", () => {
    const s = new Subscription(parseSub(undefined), { maxQueue: 3, overflow: "drop-oldest" });
    const from = { host: "127.0.0.1", port: 1, family: 4 as const };
    for (let i = 0; i < 10_000; i++) {
      s.push({ data: Buffer.from(String(i)), from, pipe: undefined as never });
    }
    expect(s.size).toBe(3);
    expect(s.dropped).toBe(9997);
    expect(s.shift()?.data.toString()).toBe("9997");
  });
});

describe("overflow: pause (TCP flow control)", () => {
  test("a full queue pauses the socket instead of dropping; reading resumes it; nothing is lost", async () => {
    const server = await pipeOpen("tcp", { host: "127.0.0.1" }, undefined, {
      maxQueue: 5,
      overflow: "pause",
    });
    const client = await pipeOpen("tcp", undefined, server.local);
    const child = await server.accept();
    const N = 2000;
    const big = Buffer.alloc(1000, 1);
    const sending = (async () => {
      for (let i = 0; i < N; i++) await client.send(Buffer.concat([Buffer.from(`${i}:`), big]));
    })();
    // Nobody reads yet: the queue fills and the child stops reading its socket.
    await new Promise<void>((resolve) => {
      const iv = setInterval(() => {
        if (child.socket.isPaused()) {
          clearInterval(iv);
          resolve();
        }
      }, 5);
    });
    const sub = child.subscription();
    expect(sub?.dropped).toBe(0);
    for (let i = 0; i < N; i++) {
      const m = await child.recv({ timeout: 5000 });
      expect(m.subarray(0, m.indexOf(":")).toString()).toBe(String(i));
    }
    await sending;
    expect(sub?.dropped).toBe(0);
    expect(child.socket.isPaused()).toBe(false);
    await client.close();
    await server.close();
  });

  test("on UDP, which cannot pause, `pause` drops the newest", async () => {
    const { server, client, close } = await udpPair();
    const s = server.subscribe(undefined, { maxQueue: 2, overflow: "pause" });
    await sendAll(client, server, ["1", "2", "3"]);
    expect(s.dropped).toBe(1);
    expect((await server.recv()).toString()).toBe("1");
    expect((await server.recv()).toString()).toBe("2");
    await close();
  });
});
