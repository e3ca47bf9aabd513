import { describe, expect, test } from "vitest";
import {
  isPipeError,
  link,
  type Message,
  type Pipe,
  pipeOpen,
  type TcpPipe,
} from "../src/index.js";

function nextError(p: Pipe): Promise<Error> {
  return new Promise((resolve) => p.once("error", resolve));
}

async function tcpPair(opts = {}) {
  const server = await pipeOpen("tcp", { host: "127.0.0.1" }, undefined, opts);
  const client = await pipeOpen("tcp", undefined, server.local, opts);
  const child = await server.accept({ timeout: 2000 });
  return { server, client, child };
}

describe("callbacks, errors, end, link, iteration", () => {
  test("sync and async message callbacks both run; removers work", async () => {
    const { server, client, child } = await tcpPair();
    const seen: string[] = [];
    const off1 = child.onMessage((m) => void seen.push(`sync:${m.data}`));
    child.onMessage(async (m) => {
      await new Promise((r) => setImmediate(r));
      seen.push(`async:${m.data}`);
    });
    await client.send("x");
    await child.recv();
    await new Promise((r) => setTimeout(r, 5));
    off1();
    await client.send("y");
    await child.recv();
    await new Promise((r) => setTimeout(r, 5));
    expect(seen).toEqual(["sync:x", "async:x", "async:y"]);
    await server.close();
    await client.close();
  });

  test("a throwing or rejecting callback becomes an 'error' event, never an unhandled rejection", async () => {
    const { server, client, child } = await tcpPair();
    child.onMessage(() => {
      throw new Error("sync boom");
    });
    child.onMessage(async () => {
      throw new Error("async boom");
    });
    const errors: string[] = [];
    const two = new Promise<void>((resolve) =>
      child.on("error", (e) => {
        errors.push(e.message);
        if (errors.length === 2) resolve();
      }),
    );
    await client.send("go");
    await two;
    expect(errors.sort()).toEqual(["async boom", "sync boom"]);
    // Without a listener the error is kept, not thrown.
    child.removeAllListeners("error");
    await client.send("again");
    await child.recv();
    await new Promise((r) => setTimeout(r, 5));
    expect(child.lastError?.message).toMatch(/boom/);
    await server.close();
    await client.close();
  });

  test("end callbacks: once on peer close, immediately when already closed", async () => {
    const { server, client, child } = await tcpPair();
    const ended: string[] = [];
    const done = new Promise<void>((resolve) =>
      child.onEnd((p) => {
        ended.push(p.kind);
        resolve();
      }),
    );
    const waiting = child.recv({ timeout: 0 }).catch((e) => e);
    await client.close();
    await done;
    expect(isPipeError(await waiting, "ERR_CLOSED")).toBe(true);
    expect(child.isOpen).toBe(false);
    await child.close();
    const late = await new Promise<string>((resolve) => child.onEnd((p) => resolve(p.kind)));
    expect(ended).toEqual(["tcp-child"]);
    expect(late).toBe("tcp-child");
    expect(server.children.size).toBe(0);
    const sendErr = await child.send("x").catch((e) => e);
    expect(isPipeError(sendErr, "ERR_CLOSED")).toBe(true);
    await server.close();
  });

  test("async end and connection callbacks are awaited; their rejections become 'error'", async () => {
    const server = await pipeOpen("tcp", { host: "127.0.0.1" }, undefined, {
      onConnection: async () => {
        await new Promise((r) => setImmediate(r));
        throw new Error("up failed");
      },
    });
    const upErr = nextError(server);
    const client = await pipeOpen("tcp", undefined, server.local);
    expect((await upErr).message).toBe("up failed");
    const order: string[] = [];
    client.onEnd(async () => {
      await new Promise((r) => setImmediate(r));
      order.push("async end");
      throw new Error("end failed");
    });
    client.onEnd(() => void order.push("sync end"));
    const endErr = nextError(client);
    await client.close();
    expect((await endErr).message).toBe("end failed");
    expect(order).toEqual(["sync end", "async end"]);
    await server.close();
  });

  test("throwing 'message', 'close' and 'connection' listeners are reported, never crash or cut the link", async () => {
    const udp = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, { autoSubscribe: true });
    const sender = await pipeOpen("udp", { host: "127.0.0.1" }, udp.local);
    udp.on("message", () => {
      throw new Error("listener boom");
    });
    const udpErr = nextError(udp);
    await sender.send("x");
    expect((await udpErr).message).toBe("listener boom");
    expect((await udp.recv()).toString()).toBe("x"); // the queue still got it
    const { server, client, child } = await tcpPair();
    server.on("connection", () => {
      throw new Error("conn boom");
    });
    const connErr = nextError(server);
    const second = await pipeOpen("tcp", undefined, server.local);
    expect((await connErr).message).toBe("conn boom");
    child.on("message", () => {
      throw new Error("tcp boom");
    });
    const tcpErr = nextError(child);
    await client.send("one");
    expect((await tcpErr).message).toBe("tcp boom");
    await client.send("two");
    expect((await child.recv()).toString()).toBe("one");
    expect((await child.recv()).toString()).toBe("two"); // not dropped as a framing error
    child.on("close", () => {
      throw new Error("close boom");
    });
    child.on("error", () => {});
    await client.close();
    await new Promise<void>((r) => child.onEnd(() => r()));
    await Promise.all([udp.close(), sender.close(), second.close(), server.close()]);
  });

  test("recv timeout, abort and close give typed errors", async () => {
    const { server, client } = await tcpPair();
    const t = await client.recv({ timeout: 20 }).catch((e) => e);
    expect(isPipeError(t, "ERR_RECV_TIMEOUT")).toBe(true);
    const ac = new AbortController();
    const p = client.recv({ timeout: 0, signal: ac.signal }).catch((e) => e);
    ac.abort();
    expect(isPipeError(await p, "ERR_ABORTED")).toBe(true);
    const pre = await client.recv({ signal: AbortSignal.abort() }).catch((e) => e);
    expect(isPipeError(pre, "ERR_ABORTED")).toBe(true);
    const c = client.recv({ timeout: 0 }).catch((e) => e);
    await client.close();
    expect(isPipeError(await c, "ERR_CLOSED")).toBe(true);
    await server.close();
  });

  test("link(a, b) relays both ways between a TCP and a UDP pipe", async () => {
    const { server, client, child } = await tcpPair();
    const udpPeer = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, {
      autoSubscribe: true,
    });
    const udpSide = await pipeOpen("udp", { host: "127.0.0.1" }, udpPeer.local);
    const unlink = link(child, udpSide);
    await client.send("tcp→udp");
    expect((await udpPeer.recv()).toString()).toBe("tcp→udp");
    await udpPeer.send("udp→tcp", udpSide.local);
    expect((await client.recv()).toString()).toBe("udp→tcp");
    // The linked pipes still queue what they relay (P2PD semantics).
    expect((await child.recv()).toString()).toBe("tcp→udp");
    unlink();
    await client.send("not relayed");
    await child.recv();
    const none = await udpPeer.recv({ timeout: 30 }).catch((e) => e);
    expect(isPipeError(none, "ERR_RECV_TIMEOUT")).toBe(true);
    await Promise.all([server.close(), client.close(), udpPeer.close(), udpSide.close()]);
  });

  test("async iteration: a server yields clients, a pipe yields messages until closed", async () => {
    const server = await pipeOpen("tcp", { host: "127.0.0.1" });
    const clients = await Promise.all(
      [1, 2, 3].map(() => pipeOpen("tcp", undefined, server.local)),
    );
    const got: string[] = [];
    const echoed: Promise<void>[] = [];
    let n = 0;
    for await (const child of server) {
      echoed.push(
        (async () => {
          for await (const m of child as TcpPipe) {
            got.push(m.data.toString());
            await m.pipe.send(m.data);
          }
        })(),
      );
      if (++n === 3) break;
    }
    for (const [i, c] of clients.entries()) {
      await c.send(`hi ${i}`);
      expect((await c.recv()).toString()).toBe(`hi ${i}`);
      await c.close();
    }
    await Promise.all(echoed);
    expect(got.sort()).toEqual(["hi 0", "hi 1", "hi 2"]);
    await server.close();
  });

  test("server pipe aggregates its children: subscribe, recv and send(dest) work on it", async () => {
    const server = await pipeOpen("tcp", { host: "127.0.0.1" }, undefined, {
      autoSubscribe: false,
    });
    server.subscribe();
    const a = await pipeOpen("tcp", undefined, server.local);
    const b = await pipeOpen("tcp", undefined, server.local);
    await a.send("from a");
    const m: Message = await server.recvFull();
    expect(m.data.toString()).toBe("from a");
    expect(m.pipe.kind).toBe("tcp-child");
    await server.send("to a", m.from);
    expect((await a.recv()).toString()).toBe("to a");
    const noDest = await server.send("x").catch((e) => e);
    expect(isPipeError(noDest, "ERR_NO_DEST")).toBe(true);
    const conns: Pipe[] = [];
    server.on("connection", (c) => conns.push(c));
    const c = await pipeOpen("tcp", undefined, server.local);
    await server.accept();
    expect(conns).toHaveLength(1);
    await Promise.all([a.close(), b.close(), c.close()]);
    await server.close();
    const onEnd = await new Promise<boolean>((r) => server.onEnd(() => r(true)));
    expect(onEnd).toBe(true);
  });

  test("callbacks given at open are installed before data arrives; errors from children reach the server", async () => {
    const seen: string[] = [];
    const server = await pipeOpen("tcp", { host: "127.0.0.1" }, undefined, {
      onMessage: (m) => {
        seen.push(m.data.toString());
        if (m.data.toString() === "bad") throw new Error("handler failed");
      },
      onConnection: (child) => void seen.push(`up:${child.kind}`),
    });
    const err = nextError(server);
    const client = await pipeOpen("tcp", undefined, server.local);
    await client.send("hello");
    await client.send("bad");
    expect((await err).message).toBe("handler failed");
    expect(seen).toEqual(["up:tcp-child", "hello", "bad"]);
    await client.close();
    await server.close();
  });
});
