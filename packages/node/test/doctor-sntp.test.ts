import { createSocket, type Socket } from "node:dgram";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { runDoctor } from "../src/doctor/doctor.js";
import {
  fromNtp,
  ntpProbe,
  ntpRequest,
  parseNtpReply,
  parseNtpServer,
  toNtp,
} from "../src/doctor/sntp.js";

// The doctor's clock probe against real SNTP servers this test runs on loopback: one whose clock
// is 1.5 s ahead, one that answers Kiss-o'-Death, one that answers with someone else's timestamp,
// and one that never answers.
type Mode = "ok" | "kod" | "spoof" | "silent";
const SKEW_MS = 1500;

async function sntpServer(mode: Mode): Promise<{ sock: Socket; addr: string }> {
  const sock = createSocket("udp4");
  sock.on("message", (msg, from) => {
    if (mode === "silent" || msg.length < 48) return;
    const t2 = toNtp(Date.now() + SKEW_MS);
    const r = Buffer.alloc(48);
    r[0] = (4 << 3) | 4; // version 4, mode 4 (server)
    r[1] = mode === "kod" ? 0 : 2; // stratum
    if (mode === "kod") r.write("RATE", 12, "latin1");
    (mode === "spoof" ? toNtp(12345) : msg.subarray(40, 48)).copy(r, 24); // originate
    t2.copy(r, 32); // receive
    toNtp(Date.now() + SKEW_MS).copy(r, 40); // transmit
    sock.send(r, from.port, from.address);
  });
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  return { sock, addr: `127.0.0.1:${sock.address().port}` };
}

const servers: Partial<Record<Mode, { sock: Socket; addr: string }>> = {};
beforeAll(async () => {
  for (const m of ["ok", "kod", "spoof", "silent"] as Mode[]) servers[m] = await sntpServer(m);
});
afterAll(() => {
  for (const s of Object.values(servers)) s?.sock.close();
});
const addr = (m: Mode) => servers[m]?.addr ?? "";

describe("SNTP codec", () => {
  test("NTP timestamps round-trip Unix ms to well under a millisecond", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_000_000_000_000 }), (ms) => {
        expect(Math.abs(fromNtp(toNtp(ms), 0) - ms)).toBeLessThan(0.001);
      }),
    );
    // 1970-01-01 is NTP second 2208988800.
    expect(toNtp(0).readUInt32BE(0)).toBe(2_208_988_800);
  });

  test("a request is 48 bytes, version 4, mode 3, carrying the transmit timestamp", () => {
    const t1 = toNtp(1_700_000_000_000);
    const req = ntpRequest(t1);
    expect(req).toHaveLength(48);
    expect(req[0]).toBe(0x23);
    expect(req.subarray(40, 48).equals(t1)).toBe(true);
  });

  test("the reply parser never throws and accepts only answers to our request", () => {
    const t1 = toNtp(1_700_000_000_000);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
        const r = parseNtpReply(Buffer.from(bytes), t1);
        // Random bytes cannot carry our originate timestamp by chance.
        expect(r).toBeUndefined();
      }),
    );
    const reply = Buffer.alloc(48);
    reply[0] = 0x24;
    reply[1] = 1;
    t1.copy(reply, 24);
    expect(parseNtpReply(reply, t1)).toMatchObject({ ok: true, stratum: 1 });
    expect(parseNtpReply(reply.subarray(0, 47), t1)).toBeUndefined();
    reply[0] = 0xe4; // leap indicator 3: unsynchronised
    expect(parseNtpReply(reply, t1)).toEqual({ ok: false, error: "server not synchronised" });
  });

  test("server names: host[:port], [v6]:port, port 123 by default; junk refused", () => {
    expect(parseNtpServer("pool.example")).toEqual({ host: "pool.example", port: 123 });
    expect(parseNtpServer("127.0.0.1:1234")).toEqual({ host: "127.0.0.1", port: 1234 });
    expect(parseNtpServer("[::1]:123")).toEqual({ host: "::1", port: 123 });
    for (const bad of ["", "a b", "h:0", "h:99999", "[nope]:1", "::1"])
      expect(parseNtpServer(bad), bad).toBeUndefined();
  });
});

describe("ntpProbe against loopback servers", () => {
  test("measures a clock 1.5 s ahead within a few ms, with the round trip and stratum", async () => {
    const r = await ntpProbe(addr("ok"), AbortSignal.timeout(2000));
    expect(r).toMatchObject({ server: addr("ok"), ok: true, stratum: 2 });
    expect(Math.abs((r.offsetMs ?? 0) - SKEW_MS)).toBeLessThan(25);
    expect(r.rttMs).toBeGreaterThanOrEqual(0);
    expect(r.rttMs).toBeLessThan(100);
  });

  test("Kiss-o'-Death: not ok, the kiss code as the reason", async () => {
    const r = await ntpProbe(addr("kod"), AbortSignal.timeout(2000));
    expect(r).toEqual({
      server: addr("kod"),
      ok: false,
      offsetMs: null,
      rttMs: null,
      error: "kiss-o'-death RATE",
    });
  });

  test("answers to another request are ignored; silence ends at the signal", async () => {
    for (const m of ["spoof", "silent"] as Mode[]) {
      const t0 = performance.now();
      const r = await ntpProbe(addr(m), AbortSignal.timeout(300));
      const took = performance.now() - t0;
      expect(r, m).toMatchObject({ ok: false, offsetMs: null, error: "timeout" });
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(1500);
    }
  });

  test("a malformed server is an error result, not a throw", async () => {
    expect(await ntpProbe("not a server", AbortSignal.timeout(100))).toMatchObject({
      ok: false,
      error: "ERR_BAD_SERVER",
    });
  });
});

describe("runDoctor: clock", () => {
  test("with NTP servers: the offset from the answer with the smallest round trip", async () => {
    const r = await runDoctor({
      stun: [],
      ntp: [addr("silent"), addr("ok")],
      interfaces: ["lo"],
      families: [4],
      portMapping: false,
      timeoutMs: 3000,
    });
    expect(r.clock.measured).toBe(true);
    expect(r.clock.server).toBe(addr("ok"));
    expect(Math.abs((r.clock.offsetMs ?? 0) - SKEW_MS)).toBeLessThan(25);
    expect(r.clock.servers.map((s) => [s.server, s.ok])).toEqual([
      [addr("silent"), false],
      [addr("ok"), true],
    ]);
    expect(r.clock.reason).toBeUndefined();
  });

  test("without NTP servers, or none answering: not measured, with the reason", async () => {
    const base = { stun: [], interfaces: ["lo"], families: [4 as const], portMapping: false };
    const none = await runDoctor({ ...base, timeoutMs: 1000 });
    expect(none.clock).toEqual({
      measured: false,
      servers: [],
      reason: expect.stringMatching(/^not measured: no NTP server given/),
    });
    const kod = await runDoctor({ ...base, ntp: [addr("kod")], timeoutMs: 1000 });
    expect(kod.clock.measured).toBe(false);
    expect(kod.clock.reason).toMatch(/no NTP server answered .*kiss-o'-death RATE/);
  });
});
