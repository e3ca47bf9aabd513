import { describe, expect, test } from "vitest";
import {
  isPipeError,
  link,
  MessagePipe,
  type Pipe,
  type PipeError,
  wrapMessages,
  wrapStream,
} from "../src/index.js";
import { code, settle, thrownCode, timers } from "./helpers.js";
import { duplexPair, MemTransport, PausableTransport, socketPair } from "./wrap-helpers.js";

function pair(opts = {}): [Pipe, Pipe, MemTransport, MemTransport] {
  const [a, b] = MemTransport.pair();
  return [wrapMessages(a, opts), wrapMessages(b, opts), a, b];
}

const tick = () => new Promise((r) => setImmediate(r));

describe("wrapMessages over an in-memory transport", () => {
  test("one transport message is one pipe message, not copied; addresses from the transport", async () => {
    const [p, q, a] = pair();
    expect(p.kind).toBe("message");
    expect(p.proto).toBe("udp");
    expect(p).toBeInstanceOf(MessagePipe);
    expect(p.remote).toEqual({ host: "192.0.2.2", port: 2000, family: 4 });
    expect(p.local).toEqual({ host: "192.0.2.1", port: 1000, family: 4 });
    const big = Buffer.alloc(100_000, 3);
    expect(await p.send(big)).toBe(100_000);
    expect(await p.send("")).toBe(0);
    expect(a.sent[0]).toBe(big);
    const m = await q.recvFull();
    expect(m.data).toBe(big);
    expect(m.from).toEqual(q.remote);
    expect(m.pipe).toBe(q);
    expect((await q.recv()).length).toBe(0);
    await p.close();
    await q.close();
  });

  test("options override proto and addresses", async () => {
    const [a] = MemTransport.pair();
    const p = wrapMessages(a, {
      proto: "tcp",
      remote: { host: "2001:db8::1", port: 3478, family: 6 },
      local: { host: "10.1.1.1", port: 9 } as never,
    });
    expect(p.proto).toBe("tcp");
    expect(p.remote).toEqual({ host: "2001:db8::1", port: 3478, family: 6 });
    expect(p.local).toEqual({ host: "10.1.1.1", port: 9, family: 4 });
    const noLocal = new MemTransport({ host: "192.0.2.9", port: 1 });
    expect(wrapMessages(noLocal).local).toEqual({ host: "0.0.0.0", port: 0, family: 4 });
    await p.close();
  });

  test("subscriptions with regex, recv timeout and messages() iteration", async () => {
    const [p, q] = pair();
    q.subscribe([/^PING/, /^192\.0\.2\.1:1000$/]);
    q.subscribe([/^PING/, /^10\./]);
    await p.send("PING a");
    await p.send("DATA");
    await tick();
    expect((await q.recv({ sub: [/^PING/, /^192\.0\.2\.1:1000$/] })).toString()).toBe("PING a");
    expect(q.subscription([/^PING/, /^10\./])?.size).toBe(0);
    expect(await code(q.recv({ sub: [/^PING/, /^192\.0\.2\.1:1000$/], timeout: 30 }))).toBe(
      "ERR_RECV_TIMEOUT",
    );
    const got: string[] = [];
    const loop = (async () => {
      for await (const m of q.messages()) got.push(m.data.toString());
    })();
    await p.send("x");
    await p.send("y");
    await tick();
    await p.close();
    await loop;
    // The catch-all queue had PING a and DATA already.
    expect(got).toEqual(["PING a", "DATA", "x", "y"]);
  });

  test("intercept consumes protocol verbs before subscriptions and callbacks", async () => {
    const [p, q] = pair();
    const verbs: string[] = [];
    const off = q.intercept((d, from) => {
      expect(from).toEqual(q.remote);
      if (!d.toString().startsWith("ECHO ")) return false;
      verbs.push(d.toString());
      return true;
    });
    const cbs: string[] = [];
    q.onMessage((m) => void cbs.push(m.data.toString()));
    await p.send("ECHO hi");
    await p.send("user data");
    expect((await q.recv()).toString()).toBe("user data");
    expect(verbs).toEqual(["ECHO hi"]);
    expect(cbs).toEqual(["user data"]);
    off();
    await p.send("ECHO again");
    expect((await q.recv()).toString()).toBe("ECHO again");
    await p.close();
  });

  test("the transport ending rejects a pending recv with ERR_CLOSED and runs onEnd", async () => {
    const [p, q, a, b] = pair();
    const pending = q.recv({ timeout: 0 });
    const ended = new Promise<Error | undefined>((r) => q.onEnd((_x, e) => r(e)));
    // (events.once would reject on the 'error' event that precedes 'close'.)
    const closeEvent = new Promise((r) => q.once("close", r));
    const cause = new Error("allocation expired");
    b.end(cause);
    const r = await pending.catch((e: unknown) => e);
    expect(isPipeError(r, "ERR_CLOSED")).toBe(true);
    const e = await ended;
    expect(isPipeError(e, "ERR_SOCKET")).toBe(true);
    expect((e as PipeError).cause).toBe(cause);
    expect((r as PipeError).cause).toBe(e);
    await closeEvent;
    expect(q.lastError).toBe(e);
    expect(b.listeners()).toBe(0);
    // A clean end: no error.
    const ends: unknown[] = [];
    p.onEnd((_x, err) => void ends.push(err));
    a.end();
    expect(ends).toEqual([undefined]);
    expect(await code(p.send("late"))).toBe("ERR_CLOSED");
    await p.close();
    expect(a.closeCalls).toBe(0);
  });

  test("close() closes the transport once, unhooks, and leaves no timers", async () => {
    const before = timers();
    const [p, q, a, b] = pair();
    await p.close();
    await p.close();
    expect(a.closeCalls).toBe(1);
    expect(a.listeners()).toBe(0);
    // The peer transport ended, so the peer pipe did too.
    expect(q.isOpen).toBe(false);
    await q.close();
    expect(b.closeCalls).toBe(0);
    await settle();
    expect(timers()).toBeLessThanOrEqual(before);
  });

  test("close() of a transport whose close() never settles gives up after closeTimeoutMs", async () => {
    const before = timers();
    const t = new MemTransport({ host: "192.0.2.3", port: 3 });
    t.hangClose = true;
    const p = wrapMessages(t, { closeTimeoutMs: 30 });
    const t0 = Date.now();
    await p.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    await settle();
    expect(timers()).toBeLessThanOrEqual(before);
  });

  test("send awaits the transport (backpressure); failures and aborts are typed", async () => {
    const [p, , a] = pair();
    let open: () => void = () => {};
    a.gate = new Promise<void>((r) => {
      open = r;
    });
    let done = false;
    const s = p.send("held").then(() => {
      done = true;
    });
    await tick();
    expect(done).toBe(false);
    open();
    await s;
    expect(done).toBe(true);
    a.gate = new Promise(() => {});
    const ac = new AbortController();
    const held = p.send("x", undefined, { signal: ac.signal });
    ac.abort();
    expect(await code(held)).toBe("ERR_ABORTED");
    a.gate = undefined;
    a.send = () => Promise.reject(new Error("EHOSTUNREACH"));
    expect(await code(p.send("x"))).toBe("ERR_SEND");
    a.send = () => {
      throw new Error("sync throw");
    };
    expect(await code(p.send("x"))).toBe("ERR_SEND");
    expect(await code(p.send(Buffer.alloc(10), undefined, { signal: AbortSignal.abort() }))).toBe(
      "ERR_ABORTED",
    );
    await p.close();
  });

  test("over maxMessageBytes: send is refused; an incoming one closes the pipe", async () => {
    const [p, q, a, b] = pair({ maxMessageBytes: 100 });
    expect(await code(p.send(Buffer.alloc(101)))).toBe("ERR_MSG_TOO_LARGE");
    const pending = q.recv({ timeout: 0 });
    b.deliver(Buffer.alloc(101));
    const r = await pending.catch((e: unknown) => e);
    expect(isPipeError(r, "ERR_CLOSED")).toBe(true);
    expect(isPipeError((r as PipeError).cause, "ERR_MSG_TOO_LARGE")).toBe(true);
    expect(q.isOpen).toBe(false);
    await tick();
    expect(b.closeCalls).toBe(1);
    expect(a.ended).toBe(true);
  });

  test("overflow 'pause' pauses a transport that can, and resumes it as the queue drains", async () => {
    const [a, b] = MemTransport.pair();
    const pb = new PausableTransport(b.remote, b.local);
    a.peer = pb;
    pb.peer = a;
    const p = wrapMessages(a);
    const q = wrapMessages(pb, { maxQueue: 2, overflow: "pause" });
    for (let i = 0; i < 3; i++) await p.send(`m${i}`);
    await tick();
    expect(pb.paused).toBe(true);
    expect(q.subscription()?.dropped).toBe(0);
    for (let i = 0; i < 3; i++) expect((await q.recv()).toString()).toBe(`m${i}`);
    expect(pb.paused).toBe(false);
    expect(pb.resumes).toBe(1);
    // Without pause()/resume() a full "pause" queue drops instead (nothing to hold).
    const [c, d] = pair({ maxQueue: 1, overflow: "pause" });
    await c.send("1");
    await c.send("2");
    await tick();
    expect(d.subscription()?.dropped).toBe(1);
    await p.close();
    await c.close();
  });

  test("bad arguments are ERR_BAD_ARGUMENT", () => {
    expect(thrownCode(() => wrapMessages(null as never))).toBe("ERR_BAD_ARGUMENT");
    expect(thrownCode(() => wrapMessages({} as never))).toBe("ERR_BAD_ARGUMENT");
    const t = () => new MemTransport({ host: "192.0.2.1", port: 1 });
    const noRemote = Object.assign(t(), { remote: undefined });
    expect(thrownCode(() => wrapMessages(noRemote as never))).toBe("ERR_BAD_ARGUMENT");
    const badRemote = Object.assign(t(), { remote: { host: "x", port: -1 } });
    expect(thrownCode(() => wrapMessages(badRemote as never))).toBe("ERR_BAD_ARGUMENT");
    expect(thrownCode(() => wrapMessages(t(), { proto: "quic" as never }))).toBe(
      "ERR_BAD_ARGUMENT",
    );
    expect(thrownCode(() => wrapMessages(t(), { recvTimeoutMs: -5 }))).toBe("ERR_BAD_ARGUMENT");
    expect(thrownCode(() => wrapMessages(t(), "x" as never))).toBe("ERR_BAD_ARGUMENT");
  });
});

describe("stream pipes and message pipes together", () => {
  test("link() relays both ways between a socket stream pipe and a message pipe", async () => {
    const { client, accepted, server } = await socketPair();
    const outer = wrapStream(client); // e.g. a local app connection
    const inner = wrapStream(accepted);
    const [ta, tb] = MemTransport.pair();
    const relay = wrapMessages(ta); // e.g. a TURN relay
    const far = wrapMessages(tb); // the peer behind it
    const unlink = link(inner, relay);
    await outer.send("to far");
    expect((await far.recv()).toString()).toBe("to far");
    await far.send("to outer");
    expect((await outer.recv()).toString()).toBe("to outer");
    // Relayed, not consumed: the linked pipes' own queues saw the messages too.
    expect((await inner.recv()).toString()).toBe("to far");
    expect((await relay.recv()).toString()).toBe("to outer");
    unlink();
    await far.send("after unlink");
    expect((await relay.recv()).toString()).toBe("after unlink");
    expect(await code(outer.recv({ timeout: 50 }))).toBe("ERR_RECV_TIMEOUT");
    // Ends when either side closes.
    link(inner, relay);
    await far.close();
    expect(relay.isOpen).toBe(false);
    await outer.close();
    await inner.close();
    server.close();
  });

  test("relayTo from an in-memory stream pipe into a message pipe", async () => {
    const [a, b] = duplexPair();
    const src = wrapStream(a);
    const mid = wrapStream(b);
    const [ta, tb] = MemTransport.pair();
    const out = wrapMessages(ta);
    const sink = wrapMessages(tb);
    mid.relayTo(out);
    const payload = Buffer.from([0, 10, 13, 255, 0]);
    await src.send(payload);
    expect((await sink.recv()).equals(payload)).toBe(true);
    await src.close();
    await mid.close();
    await out.close();
    await sink.close();
  });
});
