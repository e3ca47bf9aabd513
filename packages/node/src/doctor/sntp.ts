// The doctor's clock probe: SNTP (RFC 4330) against a server the user names. A few samples over
// one socket, the one with the smallest round trip kept (its offset error is bounded by RTT/2).
import { createSocket } from "node:dgram";
import { isIP } from "node:net";

/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX = 2_208_988_800;
const PACKET = 48;

export interface NtpProbe {
  server: string;
  ok: boolean;
  /** The server's clock minus ours in ms (positive: this machine is behind). */
  offsetMs: number | null;
  /** Round trip of the kept sample, the server's processing time excluded. */
  rttMs: number | null;
  /** The server's stratum (1 = a reference clock). */
  stratum?: number;
  error?: string;
}

/** Unix ms -> NTP timestamp (64 bits: seconds since 1900, 32-bit fraction). */
export function toNtp(ms: number): Buffer {
  const b = Buffer.alloc(8);
  const secs = Math.floor(ms / 1000);
  b.writeUInt32BE((secs + NTP_UNIX) >>> 0, 0);
  b.writeUInt32BE(Math.floor(((ms - secs * 1000) / 1000) * 2 ** 32) >>> 0, 4);
  return b;
}

/** NTP timestamp at `off` -> Unix ms (era 0: 1900-2036). */
export function fromNtp(b: Buffer, off: number): number {
  return (b.readUInt32BE(off) - NTP_UNIX) * 1000 + (b.readUInt32BE(off + 4) / 2 ** 32) * 1000;
}

/** A client request: version 4, mode 3; the transmit timestamp is what the server echoes back. */
export function ntpRequest(t1: Buffer): Buffer {
  const b = Buffer.alloc(PACKET);
  b[0] = (4 << 3) | 3;
  t1.copy(b, 40);
  return b;
}

export type NtpReply =
  | { ok: true; stratum: number; t2: number; t3: number }
  | { ok: false; error: string };

/**
 * Checks a server reply to the request whose transmit timestamp was `t1` (anything else is
 * undefined: not ours, ignored). Never throws.
 */
export function parseNtpReply(msg: Buffer, t1: Buffer): NtpReply | undefined {
  if (msg.length < PACKET) return undefined;
  const mode = (msg[0] as number) & 7;
  const version = ((msg[0] as number) >> 3) & 7;
  if (mode !== 4 || version < 1 || version > 4) return undefined;
  if (!msg.subarray(24, 32).equals(t1)) return undefined; // not an answer to this request
  const stratum = msg[1] as number;
  if (stratum === 0) {
    // Kiss-o'-Death: the reference id is an ASCII code (RATE, DENY, ...).
    const kiss = msg.toString("latin1", 12, 16).replace(/[^\x20-\x7e]/g, "");
    return { ok: false, error: `kiss-o'-death ${kiss || "?"}` };
  }
  if ((msg[0] as number) >> 6 === 3) return { ok: false, error: "server not synchronised" };
  if (stratum > 15) return { ok: false, error: `bad stratum ${stratum}` };
  return { ok: true, stratum, t2: fromNtp(msg, 32), t3: fromNtp(msg, 40) };
}

/** host[:port] (IPv6 in brackets), port 123 by default; undefined when malformed. */
export function parseNtpServer(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+))(?::(\d{1,5}))?$/.exec(s);
  if (!m) return undefined;
  const host = m[1] ?? m[2] ?? "";
  const port = m[3] === undefined ? 123 : Number(m[3]);
  if (port < 1 || port > 65535 || (m[1] !== undefined && isIP(host) !== 6)) return undefined;
  return { host, port };
}

/**
 * Up to `samples` SNTP exchanges, one after the other, until `signal` aborts; never throws.
 * Times come from Date.now() (the wall clock under test) advanced by performance.now() (so a
 * clock step during the probe does not count as round trip).
 */
export async function ntpProbe(
  server: string,
  signal: AbortSignal,
  samples = 3,
): Promise<NtpProbe> {
  const fail = (error: string): NtpProbe => ({
    server,
    ok: false,
    offsetMs: null,
    rttMs: null,
    error,
  });
  const at = parseNtpServer(server);
  if (!at) return fail("ERR_BAD_SERVER");
  const sock = createSocket(isIP(at.host) === 6 ? "udp6" : "udp4");
  let best: { offset: number; rtt: number; stratum: number } | undefined;
  let lastError = "timeout";
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(0, () => resolve());
    });
    for (let i = 0; i < samples && !signal.aborted; i++) {
      const wall = Date.now();
      const p0 = performance.now();
      // Random low bits: a reply must echo exactly this request's timestamp.
      const t1 = toNtp(wall);
      t1.writeUInt16BE(Math.floor(Math.random() * 0x10000), 6);
      const reply = await new Promise<{ r: NtpReply; t4: number } | undefined>((resolve) => {
        const onMsg = (msg: Buffer) => {
          const r = parseNtpReply(msg, t1);
          if (r) done({ r, t4: wall + (performance.now() - p0) });
        };
        const onErr = (e: Error) => {
          lastError = (e as { code?: string }).code ?? e.message;
          done(undefined);
        };
        const done = (v: { r: NtpReply; t4: number } | undefined) => {
          sock.off("message", onMsg);
          sock.off("error", onErr);
          signal.removeEventListener("abort", onAbort);
          resolve(v);
        };
        const onAbort = () => done(undefined);
        if (signal.aborted) return onAbort();
        signal.addEventListener("abort", onAbort, { once: true });
        sock.on("message", onMsg);
        sock.on("error", onErr);
        sock.send(ntpRequest(t1), at.port, at.host, (e) => e && onErr(e));
      });
      if (!reply) break;
      if (!reply.r.ok) return fail(reply.r.error);
      const { t2, t3, stratum } = reply.r;
      const t1ms = fromNtp(t1, 0);
      const rtt = Math.max(0, reply.t4 - t1ms - (t3 - t2));
      const offset = (t2 - t1ms + (t3 - reply.t4)) / 2;
      if (!best || rtt < best.rtt) best = { offset, rtt, stratum };
    }
  } catch (e) {
    return fail((e as { code?: string }).code ?? String(e));
  } finally {
    sock.close();
  }
  if (!best) return fail(lastError);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    server,
    ok: true,
    offsetMs: r2(best.offset),
    rttMs: r2(best.rtt),
    stratum: best.stratum,
  };
}
