// The doctor's single probes. Each one takes a signal, never outlives it, and releases its sockets.
import { createSocket } from "node:dgram";
import { connect as tcpConnect } from "node:net";
import { createPortMapper, type PortMapMethod } from "@p2pd/nat";
import { createUdpTransport, getMappedAddress } from "@p2pd/stun";

export interface StunPing {
  ok: boolean;
  /** Round trip in ms (null when no answer). */
  rttMs: number | null;
  /** Our address as this server saw it. */
  mapped: { ip: string; port: number } | null;
  error?: string;
}

const ms = (x: number) => Math.round(x * 100) / 100;
const why = (e: unknown) => (e as { code?: string }).code ?? (e as Error).message ?? String(e);

/** One STUN binding over UDP or TCP from a fresh socket. */
export async function stunPing(
  server: string,
  protocol: "udp" | "tcp",
  family: 4 | 6,
  localAddress: string | undefined,
  signal: AbortSignal,
): Promise<StunPing> {
  try {
    const r = await getMappedAddress(server, { protocol, family, localAddress, signal });
    return { ok: true, rttMs: ms(r.rtt), mapped: { ip: r.mapped.host, port: r.mapped.port } };
  } catch (e) {
    return { ok: false, rttMs: null, mapped: null, error: why(e) };
  }
}

/** Time to open a TCP connection to a broker URL (mqtt://host:port); the connection is closed at once. */
export function brokerPing(
  url: string,
  signal: AbortSignal,
): Promise<{ url: string; ok: boolean; rttMs: number | null; error?: string }> {
  let host: string;
  let port: number;
  try {
    const u = new URL(url);
    host = u.hostname.replace(/^\[|\]$/g, "");
    port = Number(u.port) || (u.protocol === "mqtts:" ? 8883 : 1883);
  } catch {
    return Promise.resolve({ url, ok: false, rttMs: null, error: "ERR_BAD_URL" });
  }
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = tcpConnect({ host, port });
    const done = (r: { ok: boolean; rttMs: number | null; error?: string }) => {
      signal.removeEventListener("abort", onAbort);
      s.destroy();
      resolve({ url, ...r });
    };
    const onAbort = () => done({ ok: false, rttMs: null, error: "timeout" });
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    s.once("connect", () => done({ ok: true, rttMs: ms(performance.now() - t0) }));
    s.once("error", (e) => done({ ok: false, rttMs: null, error: why(e) }));
  });
}

/**
 * Hairpinning: socket A learns its public mapping from `server`; socket B sends a nonce to that
 * public address. True when A receives it (the NAT loops it back), false when nothing arrives within
 * `waitMs`, null when no mapping could be learnt.
 */
export async function hairpinProbe(
  server: string,
  family: 4 | 6,
  localAddress: string | undefined,
  waitMs: number,
  signal: AbortSignal,
): Promise<boolean | null> {
  const type = family === 6 ? "udp6" : "udp4";
  const a = createSocket(type);
  const b = createSocket(type);
  const bind = (s: ReturnType<typeof createSocket>) =>
    new Promise<void>((res, rej) => {
      s.once("error", rej);
      s.bind(0, localAddress, () => {
        s.off("error", rej);
        res();
      });
    });
  a.on("error", () => {});
  b.on("error", () => {});
  const transport = createUdpTransport(a);
  try {
    await Promise.all([bind(a), bind(b)]);
    const r = await getMappedAddress(server, { transport, family, signal }).catch(() => undefined);
    if (!r) return null;
    const nonce = Buffer.from(`p2pd-hairpin-${Math.random().toString(36).slice(2)}`);
    return await new Promise<boolean>((resolve) => {
      let timer: ReturnType<typeof setInterval> | undefined;
      const finish = (v: boolean) => {
        clearInterval(timer);
        clearTimeout(cap);
        signal.removeEventListener("abort", onAbort);
        a.off("message", onMsg);
        resolve(v);
      };
      const onMsg = (m: Buffer) => {
        if (m.equals(nonce)) finish(true);
      };
      const onAbort = () => finish(false);
      a.on("message", onMsg);
      signal.addEventListener("abort", onAbort, { once: true });
      // A few sends: one lost packet must not read as "no hairpin".
      const send = () => b.send(nonce, r.mapped.port, r.mapped.host, () => {});
      send();
      timer = setInterval(send, Math.max(20, waitMs / 4));
      const cap = setTimeout(() => finish(false), waitMs);
    });
  } catch {
    return null;
  } finally {
    transport.close();
    for (const s of [a, b])
      try {
        s.close();
      } catch {
        // already closed
      }
  }
}

export interface PortMapProbe {
  /** A gateway granted a mapping (then removed it again). */
  available: boolean;
  method?: PortMapMethod;
  external?: { ip: string; port: number };
  /** The mapped address can be reached from the internet (false behind a second NAT). */
  reachable?: boolean;
  /** The test mapping was removed again. */
  removed?: boolean;
  reason?: string;
}

/** Asks the gateway (UPnP IGD, NAT-PMP, PCP) for a short UDP mapping, then removes it. */
export async function portMapProbe(
  timeoutMs: number,
  observedExternalIp: string | undefined,
  gateway: string | undefined,
  signal: AbortSignal,
): Promise<PortMapProbe> {
  // A real local port (held while mapped) so the gateway maps something that exists.
  const sock = createSocket("udp4");
  sock.on("error", () => {});
  const port = await new Promise<number>((res) => sock.bind(0, () => res(sock.address().port)));
  const mapper = createPortMapper({
    signal,
    renew: false,
    timeoutMs,
    discoveryTimeoutMs: timeoutMs,
    description: "p2pd doctor",
    ...(gateway ? { gateway } : {}),
    ...(observedExternalIp ? { observedExternalIp } : {}),
  });
  try {
    const m = await mapper.add({ port, proto: "udp", lifetime: 60, signal });
    let removed = false;
    try {
      await mapper.remove({ port, proto: "udp", signal: AbortSignal.timeout(timeoutMs) });
      removed = true;
    } catch {
      // close() below tries once more
    }
    return {
      available: true,
      method: m.method,
      external: m.external,
      reachable: m.reachable,
      removed,
      ...(m.reason ? { reason: m.reason } : {}),
    };
  } catch (e) {
    return { available: false, reason: signal.aborted ? "no gateway answered in time" : why(e) };
  } finally {
    await mapper.close({ signal: AbortSignal.timeout(timeoutMs) }).catch(() => {});
    sock.close();
  }
}
