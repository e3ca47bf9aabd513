import { readdirSync, readFileSync } from "node:fs";
import { endianness } from "node:os";
import type { Family } from "../endpoint.js";
import { throwIfAborted } from "../errors.js";
import { formatIp, netmaskToPrefix } from "../ip.js";
import { osAddresses } from "./node-os.js";
import {
  type DefaultGateway,
  defaultsFromRoutes,
  type LinkInfo,
  type NetInfoProvider,
  type RouteEntry,
} from "./types.js";

const RTF_UP = 0x1;
const RTF_GATEWAY = 0x2;
const RTF_REJECT = 0x200;
const RTF_LOCAL = 0x80000000;
const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;

function hexToV4(hex: string, littleEndian: boolean): string | undefined {
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) return undefined;
  let v = BigInt(`0x${hex}`);
  if (littleEndian) {
    v = ((v & 0xffn) << 24n) | ((v & 0xff00n) << 8n) | ((v >> 8n) & 0xff00n) | ((v >> 24n) & 0xffn);
  }
  return formatIp(4, v);
}

/**
 * Parses /proc/net/route (IPv4). Addresses are host-order hex of network-order bytes, so
 * little-endian machines print them reversed.
 */
export function parseProcNetRoute(
  text: string,
  littleEndian = endianness() === "LE",
): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const line of String(text).split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface = "", dest = "", gw = "", flagsHex = "", , , metric = "", mask = ""] = f;
    const flags = Number.parseInt(flagsHex, 16);
    if (!Number.isFinite(flags) || !(flags & RTF_UP) || flags & RTF_REJECT) continue;
    const destination = hexToV4(dest, littleEndian);
    const maskIp = hexToV4(mask, littleEndian);
    const gateway = hexToV4(gw, littleEndian);
    if (!destination || !maskIp || !gateway || !/^\d+$/.test(metric)) continue;
    let prefix: number;
    try {
      prefix = netmaskToPrefix(maskIp);
    } catch {
      continue;
    }
    const r: RouteEntry = {
      family: 4,
      destination,
      prefix,
      interface: iface,
      metric: Number(metric),
    };
    if (flags & RTF_GATEWAY && gateway !== "0.0.0.0") r.gateway = gateway;
    out.push(r);
  }
  return out;
}

function hexToV6(hex: string): string | undefined {
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  return formatIp(6, BigInt(`0x${hex}`));
}

/** Parses /proc/net/ipv6_route, skipping local, reject and multicast rows (other tables). */
export function parseProcIpv6Route(text: string): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const line of String(text).split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [dest = "", plen = "", , , nextHop = "", metric = "", , , flagsHex = "", iface = ""] = f;
    if (!/^[0-9a-fA-F]{1,8}$/.test(flagsHex) || !/^[0-9a-fA-F]{1,8}$/.test(metric)) continue;
    if (!/^[0-9a-fA-F]{2}$/.test(plen)) continue;
    const flags = Number.parseInt(flagsHex, 16);
    if (!(flags & RTF_UP) || flags & RTF_REJECT || (flags & RTF_LOCAL) >>> 0) continue;
    const destination = hexToV6(dest);
    const gateway = hexToV6(nextHop);
    const prefix = Number.parseInt(plen, 16);
    if (!destination || !gateway || prefix > 128) continue;
    if (destination.startsWith("ff") && prefix <= 8) continue;
    const r: RouteEntry = {
      family: 6,
      destination,
      prefix,
      interface: iface,
      metric: Number.parseInt(metric, 16),
    };
    if (flags & RTF_GATEWAY && gateway !== "::") r.gateway = gateway;
    out.push(r);
  }
  return out;
}

// procfs/sysfs files are generated in memory: synchronous reads never block on a disk and cost
// a tenth of a thread-pool round trip each (measured in bench/).
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Linux: sysfs for links (incl. down ones), os.networkInterfaces() for addresses, procfs for routes. */
export class LinuxProvider implements NetInfoProvider {
  readonly platform = "linux";
  constructor(private readonly root = "") {}

  async listAddresses(signal?: AbortSignal): Promise<LinkInfo[]> {
    throwIfAborted(signal);
    const os = osAddresses();
    let names: string[] = [];
    try {
      names = readdirSync(`${this.root}/sys/class/net`).sort();
    } catch {
      names = [...os.addresses.keys()];
    }
    const links: LinkInfo[] = [];
    for (const name of names) {
      const dir = `${this.root}/sys/class/net/${name}`;
      const [idx, mac, mtu, flags] = ["ifindex", "address", "mtu", "flags"].map((f) =>
        readText(`${dir}/${f}`),
      );
      if (flags === undefined && !os.addresses.has(name)) continue; // bonding_masters and the like
      const flagBits = flags === undefined ? IFF_UP : Number.parseInt(flags.trim(), 16);
      const link: LinkInfo = {
        name,
        up: (flagBits & IFF_UP) !== 0,
        internal: (flagBits & IFF_LOOPBACK) !== 0 || os.internal.has(name),
        addresses: [...(os.addresses.get(name) ?? [])],
      };
      if (idx && /^\d+$/.test(idx.trim())) link.index = Number(idx.trim());
      const m = mac?.trim() ?? os.macs.get(name);
      if (m && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(m) && m !== "00:00:00:00:00:00") link.mac = m;
      if (mtu && /^\d+$/.test(mtu.trim())) link.mtu = Number(mtu.trim());
      links.push(link);
    }
    // Alias labels ("eth0:1") carry addresses of their base link.
    for (const [name, addrs] of os.addresses) {
      if (names.includes(name)) continue;
      const base = links.find((l) => l.name === name.split(":")[0]);
      if (base) base.addresses.push(...addrs);
    }
    return links;
  }

  async routes(family: Family, signal?: AbortSignal): Promise<RouteEntry[]> {
    throwIfAborted(signal);
    if (family === 4) {
      const t = readText(`${this.root}/proc/net/route`);
      return t === undefined ? [] : parseProcNetRoute(t);
    }
    const t = readText(`${this.root}/proc/net/ipv6_route`);
    return t === undefined ? [] : parseProcIpv6Route(t);
  }

  async defaultGateways(signal?: AbortSignal): Promise<DefaultGateway[]> {
    const [v4, v6] = await Promise.all([this.routes(4, signal), this.routes(6, signal)]);
    return [...defaultsFromRoutes(v4), ...defaultsFromRoutes(v6)];
  }
}
