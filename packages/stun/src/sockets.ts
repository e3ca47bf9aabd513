import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { connect, isIP, type Socket as TcpSocket } from "node:net";
import { DEFAULT_PORT } from "./constants.js";
import { familyOf, normalizeHost, parseHostPort, type StunEndpoint } from "./endpoint.js";
import { abortError, StunError } from "./errors.js";

/** A server as "host:port" / "[v6]:port" / "host", or an address object. */
export type StunServerAddress = string | { host: string; port?: number };

/** Resolves a server to an IP endpoint (DNS only for names; literal IPs never touch the resolver). */
export async function resolveServer(
  server: StunServerAddress,
  opts: { family?: 4 | 6; signal?: AbortSignal } = {},
): Promise<StunEndpoint> {
  const { host, port } =
    typeof server === "string"
      ? parseHostPort(server, DEFAULT_PORT)
      : { host: server.host, port: server.port ?? DEFAULT_PORT };
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new StunError("ERR_STUN_BAD_ARGUMENT", `bad server port ${port}`);
  }
  const lit = isIP(normalizeHost(host));
  if (lit !== 0) {
    const h = normalizeHost(host);
    if (opts.family && opts.family !== lit) {
      throw new StunError("ERR_STUN_BAD_ARGUMENT", `${host} is not an IPv${opts.family} address`);
    }
    // Keep a link-local zone ("fe80::1%eth0") for sending; comparisons strip it.
    const zone = lit === 6 && host.includes("%") ? host.slice(host.indexOf("%") + 1) : undefined;
    return zone
      ? { host: `${h}%${zone}`, port, family: 6, scopeId: zone }
      : { host: h, port, family: lit === 6 ? 6 : 4 };
  }
  if (opts.signal?.aborted) throw abortError(opts.signal);
  try {
    const res = await lookup(host, { family: opts.family ?? 0 });
    if (opts.signal?.aborted) throw abortError(opts.signal);
    return { host: res.address, port, family: res.family === 6 ? 6 : 4 };
  } catch (e) {
    if (e instanceof StunError) throw e;
    if (opts.signal?.aborted) throw abortError(opts.signal);
    throw new StunError("ERR_STUN_DNS", `cannot resolve ${host}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** Binds a UDP socket; rejects with ERR_STUN_BIND (or abort) instead of emitting 'error'. */
export function bindUdp(opts: {
  family?: 4 | 6;
  localAddress?: string;
  localPort?: number;
  reuseAddr?: boolean;
  signal?: AbortSignal;
}): Promise<UdpSocket> {
  const family = opts.family ?? (opts.localAddress ? familyOf(opts.localAddress) : 4);
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(abortError(opts.signal));
    const sock = createSocket({
      type: family === 6 ? "udp6" : "udp4",
      reuseAddr: opts.reuseAddr ?? false,
    });
    const onAbort = () => {
      sock.close();
      reject(abortError(opts.signal as AbortSignal));
    };
    sock.once("error", (err) => {
      opts.signal?.removeEventListener("abort", onAbort);
      try {
        sock.close();
      } catch {
        // never bound
      }
      reject(
        new StunError(
          "ERR_STUN_BIND",
          `cannot bind UDP ${opts.localAddress ?? "*"}:${opts.localPort ?? 0}: ${err.message}`,
          { cause: err },
        ),
      );
    });
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    sock.bind({ port: opts.localPort ?? 0, address: opts.localAddress, exclusive: true }, () => {
      opts.signal?.removeEventListener("abort", onAbort);
      sock.removeAllListeners("error");
      // A late ICMP-driven error must not crash the process.
      sock.on("error", () => {});
      resolve(sock);
    });
  });
}

/** Opens a TCP connection, optionally from a given local address/port. */
export function connectTcp(
  to: StunEndpoint,
  opts: { localAddress?: string; localPort?: number; signal?: AbortSignal } = {},
): Promise<TcpSocket> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(abortError(opts.signal));
    const sock = connect({
      host: to.host,
      port: to.port,
      family: to.family,
      localAddress: opts.localAddress,
      localPort: opts.localPort,
    });
    const onAbort = () => {
      sock.destroy();
      reject(abortError(opts.signal as AbortSignal));
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    sock.once("error", (err) => {
      opts.signal?.removeEventListener("abort", onAbort);
      sock.destroy();
      reject(
        new StunError(
          "ERR_STUN_CONNECT",
          `cannot connect to ${to.host}:${to.port}: ${err.message}`,
          { cause: err },
        ),
      );
    });
    sock.once("connect", () => {
      opts.signal?.removeEventListener("abort", onAbort);
      sock.removeAllListeners("error");
      sock.on("error", () => {}); // reported through the transport's close listener
      sock.setNoDelay(true);
      resolve(sock);
    });
  });
}
