import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import fc from "fast-check";
import { afterEach, describe, expect, test } from "vitest";
import { NodePipe } from "../src/index.js";

const open: Socket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.destroy();
});

/** A connected TCP pair on loopback: raw socket on one end, NodePipe on the other. */
async function pair(opts: { maxMessage?: number } = {}) {
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
  return { raw, pipe: new NodePipe(sock, opts) };
}

describe("NodePipe (line framing over a byte stream)", () => {
  test("messages split and merged across TCP chunks come out whole; CRLF tolerated", async () => {
    const { raw, pipe } = await pair();
    raw.write("hel");
    raw.write("lo\nwor");
    raw.write("ld\r\nlast\n");
    expect((await pipe.recv()).toString()).toBe("hello");
    expect((await pipe.recv()).toString()).toBe("world");
    expect((await pipe.recv()).toString()).toBe("last");
  });

  test("fuzz: any chunking of any lines reassembles them in order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ unit: fc.constantFrom(..."ab\r é1".split("")), maxLength: 40 }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }),
        async (lines, cuts) => {
          const { raw, pipe } = await pair();
          // Lines ending in "\r" would lose it (CRLF); keep the property about plain lines.
          const clean = lines.map((l) => l.replace(/\r+$/, ""));
          const bytes = Buffer.from(clean.map((l) => `${l}\n`).join(""));
          let at = 0;
          for (let i = 0; at < bytes.length; i++) {
            const n = cuts[i % cuts.length] ?? 1;
            raw.write(bytes.subarray(at, at + n));
            at += n;
          }
          for (const l of clean) expect((await pipe.recv()).toString()).toBe(l);
          raw.destroy();
        },
      ),
      { numRuns: 60 },
    );
  });

  test("send refuses a newline inside a message; recv times out with a typed error", async () => {
    const { pipe } = await pair();
    await expect(pipe.send("a\nb")).rejects.toMatchObject({ code: "ERR_BAD_FRAME" });
    await expect(pipe.recv({ timeoutMs: 50 })).rejects.toMatchObject({ code: "ERR_RECV_TIMEOUT" });
  });

  test("a line longer than maxMessage drops the connection instead of buffering", async () => {
    const { raw, pipe } = await pair({ maxMessage: 1024 });
    const closed = new Promise<void>((r) => pipe.onClose(r));
    raw.write(Buffer.alloc(4096, 0x61));
    await closed;
    expect(pipe.closed).toBe(true);
    await expect(pipe.recv()).rejects.toMatchObject({ code: "ERR_PIPE_CLOSED" });
  });

  test("close: pending recv rejects, onClose fires (also when added late), send refuses", async () => {
    const { pipe } = await pair();
    const pending = pipe.recv({ timeoutMs: 5000 });
    await pipe.close();
    await expect(pending).rejects.toMatchObject({ code: "ERR_PIPE_CLOSED" });
    let late = false;
    pipe.onClose(() => {
      late = true;
    });
    expect(late).toBe(true);
    await expect(pipe.send("x")).rejects.toMatchObject({ code: "ERR_PIPE_CLOSED" });
  });

  test("an aborted signal stops recv and send", async () => {
    const { pipe } = await pair();
    const ac = new AbortController();
    const r = pipe.recv({ signal: ac.signal, timeoutMs: 5000 });
    ac.abort(new Error("stop"));
    await expect(r).rejects.toThrow("stop");
    await expect(pipe.send("x", { signal: ac.signal })).rejects.toThrow("stop");
  });
});
