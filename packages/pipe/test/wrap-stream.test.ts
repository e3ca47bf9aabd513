import { once } from "node:events";
import { Socket } from "node:net";
import { Duplex, PassThrough } from "node:stream";
import { describe, expect, test } from "vitest";
import {
  isPipeError,
  type Message,
  type Pipe,
  type PipeError,
  pipeOpen,
  StreamPipe,
  wrapStream,
} from "../src/index.js";
import { code, settle, thrownCode, timers } from "./helpers.js";
import { duplexPair, frame, socketPair } from "./wrap-helpers.js";

function pair(opts = {}): [Pipe, Pipe, Duplex, Duplex] {
  const [a, b] = duplexPair();
  return [wrapStream(a, opts), wrapStream(b, opts), a, b];
}

describe("wrapStream over loopback sockets", () => {
  test("both ends of a socket pair exchange framed messages; addresses come from the sockets", async () => {
    const { client, accepted, server } = await socketPair();
    const a = wrapStream(client);
    const b = wrapStream(accepted);
    expect(a.kind).toBe("stream");
    expect(a.proto).toBe("tcp");
    expect(a).toBeInstanceOf(StreamPipe);
    expect(a.remote).toEqual({ host: "127.0.0.1", port: accepted.localPort, family: 4 });
    expect(a.local).toEqual(b.remote);
    await a.send("hello");
    await a.send(Buffer.alloc(0));
    await a.send(Buffer.alloc(200_000, 9));
    expect((await b.recv()).toString()).toBe("hello");
    expect((await b.recv()).length).toBe(0);
    expect((await b.recv()).equals(Buffer.alloc(200_000, 9))).toBe(true);
    await b.send("back");
    expect((await a.recv()).toString()).toBe("back");
    await a.close();
    expect(client.destroyed).toBe(true);
    // The peer sees the end: its pipe closes too.
    await once(b, "close");
    expect(b.isOpen).toBe(false);
    server.close();
  });

  test("a wrapped socket talks to a TcpPipe (same framing on the wire)", async () => {
    const srv = await pipeOpen("tcp", { host: "127.0.0.1" });
    const sock = new Socket();
    sock.connect(srv.local.port, "127.0.0.1");
    await once(sock, "connect");
    const w = wrapStream(sock);
    const child = await srv.accept({ timeout: 2000 });
    await w.send("to tcp pipe");
    expect((await child.recv()).toString()).toBe("to tcp pipe");
    await child.send("from tcp pipe");
    expect((await w.recv()).toString()).toBe("from tcp pipe");
    await w.close();
    await srv.close();
  });

  test("a server's interceptors see its children's messages after the child delivered them", async () => {
    const srv = await pipeOpen("tcp", { host: "127.0.0.1" });
    srv.subscribe();
    const byServer: string[] = [];
    srv.intercept((d, from) => {
      byServer.push(`${d}@${from.host}`);
      return d.toString() === "VERB";
    });
    const c = await pipeOpen("tcp", undefined, srv.local);
    const child = await srv.accept({ timeout: 2000 });
    child.intercept((d) => d.toString() === "CHILD-ONLY");
    await c.send("CHILD-ONLY");
    await c.send("VERB");
    await c.send("data");
    // The child's interceptor consumed CHILD-ONLY; the child itself still gets VERB.
    expect((await child.recv()).toString()).toBe("VERB");
    expect((await child.recv()).toString()).toBe("data");
    // The server's interceptor consumed VERB from the server's own queue only.
    expect((await srv.recv()).toString()).toBe("data");
    expect(byServer).toEqual(["VERB@127.0.0.1", "data@127.0.0.1"]);
    await c.close();
    await srv.close();
  });

  test("overflow 'pause' holds the socket: nothing lost while the consumer lags", async () => {
    const { client, accepted, server } = await socketPair();
    const a = wrapStream(client);
    const b = wrapStream(accepted, { maxQueue: 4, overflow: "pause" });
    const n = 300;
    const big = Buffer.alloc(64 * 1024, 1);
    const sending = (async () => {
      for (let i = 0; i < n; i++) await a.send(big);
    })();
    let sent = false;
    sending.then(() => {
      sent = true;
    });
    for (let i = 0; i < 200 && (b.subscription()?.size ?? 0) < 4; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 50));
    // The full queue stopped reading; the sender is held by TCP flow control.
    expect(accepted.readableFlowing).toBe(false);
    expect(sent).toBe(false);
    for (let i = 0; i < n; i++) expect((await b.recv({ timeout: 5000 })).length).toBe(big.length);
    await sending;
    expect(b.subscription()?.dropped).toBe(0);
    await a.close();
    await b.close();
    server.close();
  });
});

describe("wrapStream over in-memory streams", () => {
  test("defaults: kind stream, proto tcp, unspecified addresses; options override them", () => {
    const [a, b] = duplexPair();
    const p = wrapStream(a);
    expect(p.remote).toEqual({ host: "0.0.0.0", port: 0, family: 4 });
    const q = wrapStream(b, {
      proto: "udp",
      remote: { host: "::1", port: 5 } as never,
      local: { host: "10.0.0.1", port: 6, family: 4 },
    });
    expect(q.proto).toBe("udp");
    expect(q.remote).toEqual({ host: "::1", port: 5, family: 6 });
    expect(q.local).toEqual({ host: "10.0.0.1", port: 6, family: 4 });
    p.close();
    q.close();
  });

  test("subscriptions with regex sort messages; the catch-all still sees everything", async () => {
    const remote = { host: "198.51.100.7", port: 4242, family: 4 as const };
    const [a, b] = duplexPair();
    const p = wrapStream(a);
    const q = wrapStream(b, { remote });
    const pings = q.subscribe([/^PING/, /^198\.51\.100\.7:4242$/]);
    const other = q.subscribe([/^PING/, /^10\./]);
    await p.send("PING 1");
    await p.send("DATA x");
    await p.send("PING 2");
    expect((await q.recv({ sub: [/^PING/, /^198\.51\.100\.7:4242$/] })).toString()).toBe("PING 1");
    const m = await q.recvFull({ sub: [/^PING/, /^198\.51\.100\.7:4242$/] });
    expect(m.data.toString()).toBe("PING 2");
    expect(m.from).toEqual(remote);
    expect(pings.size).toBe(0);
    expect(other.size).toBe(0);
    const all: string[] = [];
    for (let i = 0; i < 3; i++) all.push((await q.recv()).toString());
    expect(all).toEqual(["PING 1", "DATA x", "PING 2"]);
    await p.close();
    await q.close();
  });

  test("recv times out with ERR_RECV_TIMEOUT, aborts with ERR_ABORTED, and leaves no timer", async () => {
    const before = timers();
    const [p, q] = pair();
    const t0 = Date.now();
    expect(await code(q.recv({ timeout: 50 }))).toBe("ERR_RECV_TIMEOUT");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    expect(await code(q.recv({ timeout: 5000, signal: AbortSignal.abort() }))).toBe("ERR_ABORTED");
    expect(await code(q.recv({ sub: [/nope/] }))).toBe("ERR_NOT_SUBSCRIBED");
    await p.close();
    await q.close();
    await settle();
    expect(timers()).toBeLessThanOrEqual(before);
  });

  test("messages() iterates until the peer ends; pending recv then rejects ERR_CLOSED", async () => {
    const [p, q] = pair();
    const got: string[] = [];
    const loop = (async () => {
      for await (const m of q.messages()) got.push(m.data.toString());
    })();
    for (const s of ["a", "b", "c"]) await p.send(s);
    await new Promise((r) => setTimeout(r, 10));
    const pending = q.recv({ timeout: 0 });
    await p.close();
    await loop;
    expect(got).toEqual(["a", "b", "c"]);
    expect(await code(pending)).toBe("ERR_CLOSED");
    expect(q.isOpen).toBe(false);
    expect(await code(q.send("late"))).toBe("ERR_CLOSED");
  });

  test("intercept consumes or passes; several run in order; removers work", async () => {
    const [p, q] = pair();
    const seen: string[] = [];
    const offA = q.intercept((d) => {
      seen.push(`a:${d}`);
      return d.toString().startsWith("ID ");
    });
    q.intercept((d, from) => {
      seen.push(`b:${d}`);
      expect(from).toEqual(q.remote);
      return d.toString() === "ECHO";
    });
    const cb: string[] = [];
    q.onMessage((m) => void cb.push(m.data.toString()));
    await p.send("ID 42");
    await p.send("ECHO");
    await p.send("user");
    expect((await q.recv()).toString()).toBe("user");
    expect(seen).toEqual(["a:ID 42", "a:ECHO", "b:ECHO", "a:user", "b:user"]);
    expect(cb).toEqual(["user"]);
    offA();
    await p.send("ID 43");
    expect((await q.recv()).toString()).toBe("ID 43");
    await p.close();
    await q.close();
  });

  test("a throwing interceptor is an 'error' event and the message goes on", async () => {
    const [p, q] = pair();
    const errs: Error[] = [];
    q.on("error", (e) => errs.push(e));
    q.intercept(() => {
      throw new Error("boom");
    });
    await p.send("still delivered");
    expect((await q.recv()).toString()).toBe("still delivered");
    expect(errs.map((e) => e.message)).toEqual(["boom"]);
    expect(() => q.intercept(42 as never)).toThrow(
      expect.objectContaining({ code: "ERR_BAD_ARGUMENT" }),
    );
    await p.close();
    await q.close();
  });

  test("a frame over maxMessageBytes closes the pipe with ERR_MSG_TOO_LARGE", async () => {
    const [a, b] = duplexPair();
    const q = wrapStream(b, { maxMessageBytes: 1000 });
    const ended = new Promise<Error | undefined>((r) => q.onEnd((_p, e) => r(e)));
    const pending = q.recv({ timeout: 0 });
    const h = Buffer.alloc(4);
    h.writeUInt32BE(1001);
    a.write(h);
    const e = await ended;
    expect(isPipeError(e, "ERR_MSG_TOO_LARGE")).toBe(true);
    const r = await pending.catch((x: unknown) => x);
    expect(isPipeError(r, "ERR_CLOSED")).toBe(true);
    expect((r as PipeError).cause).toBe(e);
    expect(b.destroyed).toBe(true);
    // Sending over the bound is refused too, before anything is written.
    const [c] = duplexPair();
    const s = wrapStream(c, { maxMessageBytes: 10 });
    expect(await code(s.send(Buffer.alloc(11)))).toBe("ERR_MSG_TOO_LARGE");
    await s.close();
  });

  test("send waits for 'drain' when the stream is full (backpressure), then resolves", async () => {
    let release: (() => void) | undefined;
    let flowing = false;
    const slow = new Duplex({
      highWaterMark: 1024,
      read() {},
      write(_chunk, _enc, cb) {
        if (flowing) cb();
        else release = cb;
      },
    });
    const p = wrapStream(slow);
    let done = false;
    const sent = p.send(Buffer.alloc(20_000)).then((n) => {
      done = true;
      return n;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    expect(release).toBeTypeOf("function");
    flowing = true;
    release?.();
    expect(await sent).toBe(20_000);
    flowing = false;
    // An aborted wait is ERR_ABORTED.
    const ac = new AbortController();
    const again = p.send(Buffer.alloc(20_000), undefined, { signal: ac.signal });
    ac.abort();
    expect(await code(again)).toBe("ERR_ABORTED");
    slow.destroy();
    await p.close();
  });

  test("close() ends the stream, runs end callbacks once and leaves no timers", async () => {
    const before = timers();
    const [p, q, a] = pair();
    const ends: unknown[] = [];
    p.onEnd((_x, e) => void ends.push(e));
    const closed = once(a, "close");
    await p.close();
    await p.close();
    await closed;
    expect(a.destroyed).toBe(true);
    expect(ends).toEqual([undefined]);
    await q.close();
    await settle();
    expect(timers()).toBeLessThanOrEqual(before);
  });

  test("close() of a stream that never finishes gives up after closeTimeoutMs", async () => {
    const before = timers();
    const stuck = new Duplex({ read() {}, write() {}, final() {}, emitClose: false });
    const p = wrapStream(stuck, { closeTimeoutMs: 30 });
    await p.send("never flushed");
    const t0 = Date.now();
    await p.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(stuck.destroyed).toBe(true);
    await settle();
    expect(timers()).toBeLessThanOrEqual(before);
  });

  test("a stream error ends the pipe with ERR_SOCKET", async () => {
    const [p, q, , b] = pair();
    const errs: Error[] = [];
    q.on("error", (e) => errs.push(e));
    const pending = q.recv({ timeout: 0 });
    b.destroy(new Error("wire cut"));
    expect(await code(pending)).toBe("ERR_CLOSED");
    expect(isPipeError(errs[0], "ERR_SOCKET")).toBe(true);
    await p.close();
  });

  test("line framing and string chunks (setEncoding) work over a plain stream", async () => {
    const [a, b] = duplexPair();
    const q = wrapStream(b, { framing: "line" });
    a.write("one\ntw");
    a.write("o\n");
    expect((await q.recv()).toString()).toBe("one");
    expect((await q.recv()).toString()).toBe("two");
    const pt = new PassThrough();
    pt.setEncoding("latin1");
    const r = wrapStream(pt);
    pt.write(frame(Buffer.from([0, 13, 10, 255])));
    expect([...(await r.recv())]).toEqual([0, 13, 10, 255]);
    await q.close();
    await r.close();
  });

  test("bad arguments are ERR_BAD_ARGUMENT", async () => {
    expect(thrownCode(() => wrapStream(null as never))).toBe("ERR_BAD_ARGUMENT");
    expect(thrownCode(() => wrapStream({} as never))).toBe("ERR_BAD_ARGUMENT");
    expect(thrownCode(() => wrapStream("socket" as never))).toBe("ERR_BAD_ARGUMENT");
    const unconnected = new Socket();
    expect(thrownCode(() => wrapStream(unconnected))).toBe("ERR_BAD_ARGUMENT");
    unconnected.destroy();
    const dead = new PassThrough();
    dead.destroy();
    expect(thrownCode(() => wrapStream(dead))).toBe("ERR_BAD_ARGUMENT");
    expect(thrownCode(() => wrapStream(new PassThrough({ objectMode: true })))).toBe(
      "ERR_BAD_ARGUMENT",
    );
    const pt = () => new PassThrough();
    expect(thrownCode(() => wrapStream(pt(), { proto: "sctp" as never }))).toBe("ERR_BAD_ARGUMENT");
    expect(thrownCode(() => wrapStream(pt(), { remote: { host: 1 } as never }))).toBe(
      "ERR_BAD_ARGUMENT",
    );
    expect(
      thrownCode(() => wrapStream(pt(), { local: { host: "::", port: 70000 } as never })),
    ).toBe("ERR_BAD_ARGUMENT");
    expect(thrownCode(() => wrapStream(pt(), { framing: "nope" as never }))).toBe(
      "ERR_BAD_ARGUMENT",
    );
    expect(thrownCode(() => wrapStream(pt(), { maxMessageBytes: -1 }))).toBe("ERR_BAD_ARGUMENT");
    expect(thrownCode(() => wrapStream(pt(), null as never))).toBe("ERR_BAD_ARGUMENT");
    const p = wrapStream(pt());
    expect(await code(p.send(42 as never))).toBe("ERR_BAD_ARGUMENT");
    await p.close();
  });

  test("async iteration of the pipe itself yields Message objects", async () => {
    const [p, q] = pair();
    await p.send("x");
    await p.close();
    const got: Message[] = [];
    for await (const m of q as StreamPipe) got.push(m);
    expect(got.map((m) => m.data.toString())).toEqual(["x"]);
    expect(got[0]?.pipe).toBe(q);
  });
});
