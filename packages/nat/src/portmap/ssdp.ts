import { createSocket } from "node:dgram";
import { isIPv4, isIPv6 } from "node:net";
import { networkInterfaces } from "node:os";
import { PortMapBadResponseError } from "./errors.js";

export const SSDP_ADDRESS = "239.255.255.250";
/** IPv6 link-local and site-local SSDP groups (UPnP Device Architecture 1.1 §1.1). */
export const SSDP_ADDRESSES_V6 = ["ff02::c", "ff05::c"] as const;
export const SSDP_PORT = 1900;
export const IGD_TARGETS = [
  "urn:schemas-upnp-org:device:InternetGatewayDevice:2",
  "urn:schemas-upnp-org:device:InternetGatewayDevice:1",
] as const;

/** One answer to an M-SEARCH. */
export interface SsdpResponse {
  location: string;
  st: string;
  usn?: string;
  server?: string;
}

export function buildMSearch(st: string, mx = 1): Uint8Array {
  return new TextEncoder().encode(
    `M-SEARCH * HTTP/1.1\r\nHOST: ${SSDP_ADDRESS}:${SSDP_PORT}\r\nMAN: "ssdp:discover"\r\nMX: ${mx}\r\nST: ${st}\r\n\r\n`,
  );
}

/**
 * Parses an M-SEARCH answer ("HTTP/1.1 200 OK" + headers). Throws PortMapBadResponseError
 * when it is not one or has no usable http:// LOCATION.
 */
export function parseSsdpResponse(packet: Uint8Array): SsdpResponse {
  if (packet.length > 8192) throw new PortMapBadResponseError("SSDP: answer too large");
  const text = new TextDecoder("utf-8", { fatal: false }).decode(packet);
  const lines = text.split(/\r?\n/);
  if (!/^HTTP\/1\.[01] 200\b/i.test(lines[0] ?? ""))
    throw new PortMapBadResponseError("SSDP: not an HTTP 200 answer");
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === "") break;
    const c = line.indexOf(":");
    if (c <= 0) continue;
    headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
  }
  const location = headers.get("location");
  if (!location) throw new PortMapBadResponseError("SSDP: no LOCATION header");
  let url: URL;
  try {
    url = new URL(location);
  } catch (e) {
    throw new PortMapBadResponseError("SSDP: LOCATION is not a URL", { cause: e });
  }
  if (url.protocol !== "http:") throw new PortMapBadResponseError("SSDP: LOCATION is not http://");
  const st = headers.get("st") ?? "";
  const usn = headers.get("usn");
  const server = headers.get("server");
  return {
    location: url.href,
    st,
    ...(usn !== undefined ? { usn } : {}),
    ...(server !== undefined ? { server } : {}),
  };
}

export interface DiscoverOptions {
  signal?: AbortSignal;
  /** Give up after this long (default 1500 ms). */
  timeoutMs?: number;
  /** 6 searches over IPv6 (for pinholes: the IGD must be reached over IPv6). Default 4. */
  family?: 4 | 6;
  /**
   * Multicast (or unicast) destinations of the M-SEARCH; default the SSDP group, or for IPv6
   * ff02::c and ff05::c on every interface with an IPv6 address.
   */
  addresses?: string[];
  port?: number;
  /** Debug log, off by default. */
  log?: (line: string) => void;
}

/**
 * Sends M-SEARCH for IGD v2 and v1 to every address and resolves to the first answer whose
 * LOCATION points at the host that answered (a LAN host cannot redirect us elsewhere).
 * Resolves to undefined when nothing usable arrives before the deadline.
 */
export function discoverIgd(options: DiscoverOptions = {}): Promise<SsdpResponse | undefined> {
  const { signal, timeoutMs = 1500, port = SSDP_PORT, log } = options;
  const family = options.family ?? 4;
  const addresses = (options.addresses ?? (family === 4 ? [SSDP_ADDRESS] : v6Targets())).filter(
    (a) => (family === 4 ? isIPv4(a) : isIPv6(a.replace(/%.*$/, ""))),
  );
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const sock = createSocket({ type: family === 4 ? "udp4" : "udp6" });
    let timer: NodeJS.Timeout | undefined;
    const done = (err: unknown, value?: SsdpResponse): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      sock.removeAllListeners("message");
      sock.on("error", () => {});
      try {
        sock.close();
      } catch {}
      if (err) reject(err);
      else resolve(value);
    };
    const onAbort = (): void => done(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    timer = setTimeout(() => done(undefined, undefined), timeoutMs);
    // ICMP errors from a unicast target or a missing multicast route only mean "nobody here".
    sock.on("error", (e) => log?.(`ssdp: ${e.message}`));
    sock.on("message", (msg, rinfo) => {
      try {
        const r = parseSsdpResponse(msg);
        const host = new URL(r.location).hostname.replace(/^\[|\]$/g, "");
        if (host !== rinfo.address.replace(/%.*$/, "")) {
          log?.(`ssdp: ignoring ${rinfo.address}: LOCATION points elsewhere (${r.location})`);
          return;
        }
        done(undefined, r);
      } catch (e) {
        log?.(`ssdp: ignoring ${rinfo.address}: ${(e as Error).message}`);
      }
    });
    sock.bind(0, () => {
      for (const a of addresses)
        for (const st of IGD_TARGETS)
          sock.send(buildMSearch(st), port, a, (e) => {
            if (e) log?.(`ssdp: send to ${a}: ${e.message}`);
          });
    });
  });
}

// Each SSDP IPv6 group, scoped to each interface that has IPv6 (multicast needs an interface).
function v6Targets(): string[] {
  const out: string[] = [];
  for (const [name, list] of Object.entries(networkInterfaces()))
    if (list?.some((a) => a.family === "IPv6" && !a.internal))
      for (const g of SSDP_ADDRESSES_V6) out.push(`${g}%${name}`);
  return out;
}
