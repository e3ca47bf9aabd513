import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { parseHostPort, resolveDest } from "../src/address.js";
import { PipeError, parsePorts } from "../src/index.js";
import { parseSub } from "../src/subscription.js";

/** Runs `fn`; it must return normally or throw a PipeError with one of `codes` (never anything else). */
function typedOrOk(fn: () => unknown, codes: string[]): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PipeError);
    expect(codes).toContain((e as PipeError).code);
  }
}

describe("untrusted input parsers (fast-check)", () => {
  test("subscription patterns: compile or ERR_BAD_REGEX", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.uint8Array({ maxLength: 20 }), (a, b, bytes) => {
        typedOrOk(() => parseSub([a, b]), ["ERR_BAD_REGEX"]);
        typedOrOk(() => parseSub({ msg: bytes, addr: a }), ["ERR_BAD_REGEX"]);
      }),
      { numRuns: 2000 },
    );
    typedOrOk(() => parseSub(42 as never), ["ERR_BAD_REGEX"]);
    typedOrOk(() => parseSub([{} as never]), ["ERR_BAD_REGEX"]);
  });

  test("port lists: a bounded list of valid ports or ERR_BAD_PORT", () => {
    // Ports near both ends of the range (and past them), so ranges stay small enough to enumerate.
    const low = fc.integer({ min: -5, max: 40 });
    const high = fc.integer({ min: 65500, max: 65540 });
    const entry = fc.oneof(
      low,
      high,
      fc.string({ maxLength: 12 }),
      fc.tuple(low, low),
      fc.tuple(high, high),
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 20 }), fc.array(entry, { maxLength: 5 })),
        (input) => {
          try {
            const ports = parsePorts(input as never);
            expect(ports.length).toBeGreaterThan(0);
            for (const p of ports) expect(Number.isInteger(p) && p >= 0 && p <= 65535).toBe(true);
            expect(new Set(ports).size).toBe(ports.length);
          } catch (e) {
            expect(e).toBeInstanceOf(PipeError);
            expect((e as PipeError).code).toBe("ERR_BAD_PORT");
          }
        },
      ),
      { numRuns: 500 },
    );
    expect(parsePorts([[0, 65535]])).toHaveLength(65536);
  }, 30_000);

  test('"host:port" strings: parsed, or ERR_BAD_HOST / ERR_BAD_PORT', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        typedOrOk(() => {
          const d = parseHostPort(s);
          expect(typeof d.host).toBe("string");
          expect(d.host).not.toBe("");
          expect(Number.isInteger(d.port) && d.port >= 0 && d.port <= 65535).toBe(true);
        }, ["ERR_BAD_HOST", "ERR_BAD_PORT"]);
      }),
      { numRuns: 2000 },
    );
    expect(parseHostPort("[fe80::1%eth0]:80")).toEqual({ host: "fe80::1%eth0", port: 80 });
    expect(parseHostPort("example.com:443")).toEqual({ host: "example.com", port: 443 });
  });

  test("destinations: an Endpoint or a typed error, and never a DNS query", async () => {
    // Every name here ends in ".invalid" (RFC 6761: answered locally) or is an IP literal, so the
    // property can run on any machine without touching a resolver.
    const junk = fc.string({ maxLength: 30 });
    const port = fc.oneof(fc.integer({ min: -2, max: 70_000 }), fc.double(), fc.constant(80));
    const dest = fc.oneof(
      fc.tuple(junk, port).map(([s, p]) => `${s}.invalid:${String(p)}`),
      fc.tuple(junk, port).map(([s, p]) => ({ host: `${s}.invalid`, port: p })),
      fc.tuple(fc.oneof(fc.ipV4(), fc.ipV6()), port, fc.option(junk)).map(([ip, p, z]) => ({
        host: z === null ? ip : `${ip}%${z}`,
        port: p,
      })),
      fc.tuple(fc.ipV6(), port).map(([ip, p]) => `[${ip}]:${String(p)}`),
    );
    await fc.assert(
      fc.asyncProperty(dest, async (d) => {
        try {
          const ep = await resolveDest(d as never);
          expect(ep.family === 4 || ep.family === 6).toBe(true);
          expect(Number.isInteger(ep.port) && ep.port >= 1 && ep.port <= 65535).toBe(true);
          // IP literals come back normalised and never carry a scope on IPv4.
          expect(ep.host).not.toMatch(/[[\]%]/);
          if (ep.family === 4) expect(ep.scopeId).toBeUndefined();
        } catch (e) {
          expect(e).toBeInstanceOf(PipeError);
          expect(["ERR_BAD_HOST", "ERR_BAD_PORT", "ERR_RESOLVE"]).toContain((e as PipeError).code);
        }
      }),
      { numRuns: 500 },
    );
    // A "%" in a name is malformed, not a zone to cut off (which would resolve the name before it).
    await expect(resolveDest("example.com%x.invalid:80")).rejects.toMatchObject({
      code: "ERR_BAD_HOST",
    });
  });
});
