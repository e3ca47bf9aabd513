import { connect } from "node:net";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  createDecoder,
  createEncoder,
  type Framing,
  isPipeError,
  PipeError,
  pipeOpen,
} from "../src/index.js";
import { chunk } from "./helpers.js";

function roundTrip(framing: Framing, msgs: Uint8Array[], cuts: number[], max = 1 << 20): Buffer[] {
  const enc = createEncoder(framing, max);
  const wire = Buffer.concat(msgs.flatMap((m) => enc(Buffer.from(m))));
  const dec = createDecoder(framing, max);
  const got: Buffer[] = [];
  for (const c of chunk(wire, cuts)) dec.push(c, (m) => got.push(Buffer.from(m)));
  expect(dec.buffered).toBe(0);
  return got;
}

const bytes = fc.uint8Array({ maxLength: 300 });
const cuts = fc.array(fc.nat(), { maxLength: 40 });

describe("TCP framing decoder (fast-check)", () => {
  for (const framing of ["u32-length", "u16-length"] as const) {
    test(`${framing}: arbitrary chunking yields exactly the sent messages`, () => {
      fc.assert(
        fc.property(fc.array(bytes, { maxLength: 20 }), cuts, (msgs, cs) => {
          const got = roundTrip(framing, msgs, cs);
          expect(got.map((b) => b.toString("hex"))).toEqual(
            msgs.map((m) => Buffer.from(m).toString("hex")),
          );
        }),
        { numRuns: 500 },
      );
    });
  }

  test("large messages split across reads stay intact while kept (slab slices never overlap)", () => {
    const msg = fc
      .tuple(fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 0, max: 255 }))
      .map(([n, seed]) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255)));
    fc.assert(
      fc.property(fc.array(msg, { maxLength: 12 }), cuts, (msgs, cs) => {
        const enc = createEncoder("u32-length", 1 << 20);
        const wire = Buffer.concat(msgs.flatMap((m) => enc(m)));
        const dec = createDecoder("u32-length", 1 << 20);
        const kept: Buffer[] = []; // views as delivered, compared only at the end
        for (const c of chunk(
          wire,
          cs.map((x) => x * 997),
        ))
          dec.push(c, (m) => kept.push(m));
        expect(kept.length).toBe(msgs.length);
        for (const [i, m] of kept.entries()) expect(m.equals(msgs[i] as Buffer)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  test("line: arbitrary chunking yields exactly the sent lines", () => {
    const line = fc.uint8Array({ maxLength: 200 }).map((u) => u.filter((b) => b !== 0x0a));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), cuts, (msgs, cs) => {
        const got = roundTrip("line", msgs, cs);
        expect(got.map((b) => b.toString("hex"))).toEqual(
          msgs.map((m) => Buffer.from(m).toString("hex")),
        );
      }),
      { numRuns: 500 },
    );
  });

  for (const framing of ["u32-length", "u16-length", "line"] as const) {
    test(`${framing}: garbage gives a typed error or messages, and buffering stays bounded`, () => {
      const max = 64;
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 30 }), (chunks) => {
          const dec = createDecoder(framing, max);
          try {
            for (const c of chunks) {
              dec.push(Buffer.from(c), (m) => expect(m.length).toBeLessThanOrEqual(max));
              // Never more than one incomplete frame plus its header is held.
              expect(dec.buffered).toBeLessThanOrEqual(max + 4);
            }
          } catch (e) {
            expect(e).toBeInstanceOf(PipeError);
            expect(["ERR_MSG_TOO_LARGE", "ERR_BAD_FRAME"]).toContain((e as PipeError).code);
          }
        }),
        { numRuns: 1000 },
      );
    });
  }

  test("a length prefix over the limit is ERR_MSG_TOO_LARGE before any payload is buffered", () => {
    const dec = createDecoder("u32-length", 1024);
    let err: unknown;
    try {
      dec.push(Buffer.from([0xff, 0xff, 0xff, 0xff]), () => {});
    } catch (e) {
      err = e;
    }
    expect(isPipeError(err, "ERR_MSG_TOO_LARGE")).toBe(true);
    expect(() => createEncoder("u32-length", 10)(Buffer.alloc(11))).toThrow(PipeError);
    expect(() => createEncoder("line", 10)(Buffer.from("a\nb"))).toThrow(/cannot contain/);
  });

  test("a custom framer that throws or returns nonsense is ERR_BAD_FRAME", () => {
    const throwing = createDecoder(
      {
        decode: () => {
          throw new Error("nope");
        },
      },
      100,
    );
    expect(() => throwing.push(Buffer.from("x"), () => {})).toThrow(
      expect.objectContaining({ code: "ERR_BAD_FRAME" }),
    );
    const nonsense = createDecoder({ decode: () => ({}) as never }, 100);
    expect(() => nonsense.push(Buffer.from("x"), () => {})).toThrow(
      expect.objectContaining({ code: "ERR_BAD_FRAME" }),
    );
    const hoarder = createDecoder({ decode: (b) => ({ messages: [], rest: b }) }, 8);
    expect(() => hoarder.push(Buffer.alloc(9), () => {})).toThrow(
      expect.objectContaining({ code: "ERR_MSG_TOO_LARGE" }),
    );
    const badItems = createDecoder(
      { decode: () => ({ messages: [5], rest: Buffer.alloc(0) }) } as never,
      8,
    );
    expect(() => badItems.push(Buffer.from("x"), () => {})).toThrow(
      expect.objectContaining({ code: "ERR_BAD_FRAME" }),
    );
    // The encoding side too: a throwing or nonsense encode never leaks an untyped error.
    const decode = (b: Buffer) => ({ messages: [b], rest: Buffer.alloc(0) });
    const encThrows = createEncoder(
      {
        decode,
        encode: () => {
          throw new Error("cannot");
        },
      },
      100,
    );
    expect(() => encThrows(Buffer.from("x"))).toThrow(
      expect.objectContaining({ code: "ERR_BAD_FRAME" }),
    );
    const encNonsense = createEncoder({ decode, encode: () => 42 as never }, 100);
    expect(() => encNonsense(Buffer.from("x"))).toThrow(
      expect.objectContaining({ code: "ERR_BAD_FRAME" }),
    );
  });

  test("over a real socket: random write splits and delays still give exactly the messages", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 3000 }), { minLength: 1, maxLength: 8 }),
        cuts,
        async (msgs, cs) => {
          const server = await pipeOpen("tcp", { host: "127.0.0.1" });
          try {
            const enc = createEncoder("u32-length", 1 << 20);
            const wire = Buffer.concat(msgs.flatMap((m) => enc(Buffer.from(m))));
            const raw = connect({ host: "127.0.0.1", port: server.local.port });
            raw.setNoDelay(true);
            await new Promise<void>((r) => raw.once("connect", () => r()));
            const child = await server.accept({ timeout: 2000 });
            for (const piece of chunk(wire, cs)) {
              raw.write(piece);
              await new Promise((r) => setImmediate(r));
            }
            for (const m of msgs)
              expect((await child.recv()).toString("hex")).toBe(Buffer.from(m).toString("hex"));
            raw.destroy();
          } finally {
            await server.close();
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  test("over a real socket: an oversized frame drops the connection with ERR_MSG_TOO_LARGE", async () => {
    const server = await pipeOpen("tcp", { host: "127.0.0.1" }, undefined, {
      maxMessageBytes: 1000,
    });
    const errors: string[] = [];
    server.on("error", (e) => errors.push((e as PipeError).code));
    const raw = connect({ host: "127.0.0.1", port: server.local.port });
    await new Promise<void>((r) => raw.once("connect", () => r()));
    const child = await server.accept();
    const ended = new Promise<Error | undefined>((r) => child.onEnd((_p, e) => r(e)));
    raw.write(Buffer.from([0, 0, 0x10, 0]));
    expect(isPipeError(await ended, "ERR_MSG_TOO_LARGE")).toBe(true);
    expect(errors).toContain("ERR_MSG_TOO_LARGE");
    raw.destroy();
    await server.close();
  });
});
