import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import type { Pipe } from "@p2pd/pipe";
import fc from "fast-check";
import { afterEach, describe, expect, test } from "vitest";
import { NODE_MAX_MESSAGE, wrapConnection } from "../src/index.js";

const open: Socket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.destroy();
});

/** A connected TCP pair on loopback: the raw client socket and the accepted one. */
async function sockets() {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const port = (srv.address() as { port: number }).port;
  const accepted = once(srv, "connection");
  const raw = connect(port, "127.0.0.1");
  await once(raw, "connect");
  const [sock] = (await accepted) as [Socket];
  srv.close();
  open.push(raw, sock);
  return { raw, sock };
}

const o = (opts: { maxMessage?: number }) =>
  opts.maxMessage ? { maxMessageBytes: opts.maxMessage } : {};

/** Raw socket on one end, a node connection (wrapConnection) on the other. */
async function pair(opts: { maxMessage?: number } = {}) {
  const { raw, sock } = await sockets();
  return { raw, pipe: wrapConnection(sock, o(opts)) };
}

/** Node connections on both ends of a real TCP connection. */
async function pipes(opts: { maxMessage?: number } = {}) {
  const { raw, sock } = await sockets();
  return { a: wrapConnection(raw, o(opts)), b: wrapConnection(sock, o(opts)) };
}

/** Resolves with the error the pipe ended with (undefined for a clean end). */
const ended = (p: Pipe) =>
  new Promise<(Error & { code?: string }) | undefined>((r) => p.onEnd((_p, e) => r(e)));

const frame = (payload: Uint8Array) => {
  const f = Buffer.alloc(4 + payload.length);
  f.writeUInt32BE(payload.length, 0);
  f.set(payload, 4);
  return f;
};

describe("node connections: Pipes with 4-byte big-endian length framing over a byte stream", () => {
  test("the wire: 4-byte big-endian length, then the payload as is", async () => {
    const { raw, pipe } = await pair();
    const got = new Promise<Buffer>((resolve) => {
      let buf = Buffer.alloc(0);
      raw.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 9) resolve(buf);
      });
    });
    await pipe.send(Buffer.from([0x0a, 0x0d, 0x00, 0xff, 0x0a]));
    expect(await got).toEqual(Buffer.from([0, 0, 0, 5, 0x0a, 0x0d, 0x00, 0xff, 0x0a]));
  });

  test("frames split and merged across TCP chunks come out whole", async () => {
    const { raw, pipe } = await pair();
    const bytes = Buffer.concat([
      frame(Buffer.from("hel\nlo")),
      frame(Buffer.alloc(0)),
      frame(Buffer.from("x\r\n")),
    ]);
    raw.write(bytes.subarray(0, 3));
    raw.write(bytes.subarray(3, 12));
    raw.write(bytes.subarray(12));
    expect((await pipe.recv()).toString()).toBe("hel\nlo");
    expect((await pipe.recv()).length).toBe(0);
    expect((await pipe.recv()).toString()).toBe("x\r\n");
  });

  test("fuzz: any binary messages (0x0a, 0x0d, empty, max size) round-trip between two pipes", async () => {
    const max = 4096;
    const { a, b } = await pipes({ maxMessage: max });
    const byte = fc.oneof(
      fc.constantFrom(0x0a, 0x0d, 0x00, 0xff),
      fc.integer({ min: 0, max: 255 }),
    );
    const message = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.array(byte, { maxLength: 200 }).map((xs) => Uint8Array.from(xs)),
      fc.constant(new Uint8Array(0)),
      fc.constantFrom(0x0a, 0x0d, 0x00).map((v) => new Uint8Array(max).fill(v)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 10 }), async (msgs) => {
        for (const m of msgs) await a.send(m);
        for (const m of msgs) expect(await b.recv()).toEqual(Buffer.from(m));
      }),
      { numRuns: 100 },
    );
    await a.close();
  });

  test("fuzz: any chunking of any frames reassembles them in order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }),
        async (msgs, cuts) => {
          const { raw, pipe } = await pair();
          const bytes = Buffer.concat(msgs.map(frame));
          let at = 0;
          for (let i = 0; at < bytes.length; i++) {
            const n = cuts[i % cuts.length] ?? 1;
            raw.write(bytes.subarray(at, at + n));
            at += n;
          }
          for (const m of msgs) expect(await pipe.recv()).toEqual(Buffer.from(m));
          raw.destroy();
        },
      ),
      { numRuns: 60 },
    );
  });

  test("send: a message over maxMessage is refused with a typed error; max size passes", async () => {
    const { a, b } = await pipes({ maxMessage: 1024 });
    await expect(a.send(new Uint8Array(1025))).rejects.toMatchObject({ code: "ERR_MSG_TOO_LARGE" });
    await a.send(new Uint8Array(1024).fill(0x0a));
    expect((await b.recv()).length).toBe(1024);
    await expect(b.recv({ timeoutMs: 50 })).rejects.toMatchObject({ code: "ERR_RECV_TIMEOUT" });
  });

  test("the default maximum (1 MiB) round-trips whole", async () => {
    const { a, b } = await pipes();
    const big = Buffer.alloc(NODE_MAX_MESSAGE, 0x0a);
    big[0] = 0x0d;
    await a.send(big);
    expect((await b.recv()).equals(big)).toBe(true);
  });

  test("an oversized incoming frame closes the pipe with ERR_MSG_TOO_LARGE, without buffering it", async () => {
    const { raw, pipe } = await pair({ maxMessage: 1024 });
    const pending = pipe.recv({ timeoutMs: 5000 });
    const closed = ended(pipe);
    // Only the header: the pipe must not wait for 1025 bytes to decide.
    const h = Buffer.alloc(4);
    h.writeUInt32BE(1025, 0);
    raw.write(h);
    expect(await closed).toMatchObject({ code: "ERR_MSG_TOO_LARGE" });
    await expect(pending).rejects.toMatchObject({
      code: "ERR_CLOSED",
      cause: { code: "ERR_MSG_TOO_LARGE" },
    });
    expect(pipe.isOpen).toBe(false);
    await expect(pipe.recv()).rejects.toMatchObject({ code: "ERR_CLOSED" });
    // The peer sees the connection end.
    await once(raw, "close");
  });

  test("fuzz: garbage never crashes the pipe; it delivers frames or closes with a typed error", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (junk) => {
        const { raw, pipe } = await pair({ maxMessage: 64 });
        const end = ended(pipe);
        raw.write(junk);
        raw.end();
        expect([undefined, "ERR_MSG_TOO_LARGE"]).toContain((await end)?.code);
      }),
      { numRuns: 40 },
    );
  });

  test("close: pending recv rejects, onEnd fires (also when added late), send refuses", async () => {
    const { pipe } = await pair();
    const pending = pipe.recv({ timeoutMs: 5000 });
    await pipe.close();
    await expect(pending).rejects.toMatchObject({ code: "ERR_CLOSED" });
    expect(await ended(pipe)).toBeUndefined();
    await expect(pipe.send("x")).rejects.toMatchObject({ code: "ERR_CLOSED" });
  });

  test("an aborted signal stops recv and send", async () => {
    const { pipe } = await pair();
    const ac = new AbortController();
    const r = pipe.recv({ signal: ac.signal, timeoutMs: 5000 });
    ac.abort(new Error("stop"));
    await expect(r).rejects.toMatchObject({ code: "ERR_ABORTED" });
    await expect(pipe.send("x", undefined, { signal: ac.signal })).rejects.toMatchObject({
      code: "ERR_ABORTED",
    });
  });
});
