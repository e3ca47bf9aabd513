import type { Family } from "../endpoint.js";
import { throwIfAborted } from "../errors.js";
import { formatIp, netmaskToPrefix, tryParseIp } from "../ip.js";
import { type CommandRunner, runCommand } from "./exec.js";
import { type OsAddresses, osAddresses } from "./node-os.js";
import type {
  DefaultGateway,
  LinkAddress,
  LinkInfo,
  NetInfoProvider,
  RouteEntry,
} from "./types.js";

/**
 * Parses a BSD route destination: "default", "127" (= 127/8), "192.168.1" (= /24),
 * "10.0.2.0/24", "fe80::%lo0/64", "::1". Undefined when it is not an address (e.g. "link#6").
 */
export function parseBsdDestination(
  dest: string,
  family: Family,
): { destination: string; prefix: number } | undefined {
  if (dest === "default") return { destination: family === 4 ? "0.0.0.0" : "::", prefix: 0 };
  let [ip, len] = dest.split("/") as [string, string | undefined];
  ip = ip.split("%")[0] as string;
  if (len !== undefined && !/^\d{1,3}$/.test(len)) return undefined;
  if (family === 4) {
    const parts = ip.split(".");
    if (parts.length < 1 || parts.length > 4 || parts.some((p) => !/^\d{1,3}$/.test(p)))
      return undefined;
    // Trailing zero octets are omitted; the implied prefix is 8 bits per octet shown.
    const full = [...parts, "0", "0", "0"].slice(0, 4).join(".");
    const p = tryParseIp(full);
    if (!p) return undefined;
    const prefix = len !== undefined ? Number(len) : parts.length * 8;
    if (prefix > 32) return undefined;
    return { destination: formatIp(4, p.value), prefix };
  }
  const p = tryParseIp(ip);
  if (p?.family !== 6) return undefined;
  const prefix = len !== undefined ? Number(len) : 128;
  if (prefix > 128) return undefined;
  return { destination: formatIp(6, p.value), prefix };
}

/**
 * Parses `netstat -rn` (macOS, FreeBSD, OpenBSD). Sections start with "Internet:" /
 * "Internet6:"; columns are located from the header (Netif or Iface).
 */
export function parseNetstatRn(text: string): RouteEntry[] {
  const out: RouteEntry[] = [];
  let family: Family | undefined;
  let cols: { dest: number; gw: number; flags: number; iface: number } | undefined;
  let order = 0;
  for (const raw of String(text).split("\n")) {
    const line = raw.trim();
    if (/^Internet6:?$/i.test(line)) {
      family = 6;
      cols = undefined;
      continue;
    }
    if (/^Internet:?$/i.test(line)) {
      family = 4;
      cols = undefined;
      continue;
    }
    if (!family || line === "") continue;
    const f = line.split(/\s+/);
    if (f[0] === "Destination") {
      const iface = f.findIndex((c) => c === "Netif" || c === "Iface");
      const gw = f.indexOf("Gateway");
      const flags = f.indexOf("Flags");
      cols = iface > 0 && gw > 0 && flags > 0 ? { dest: 0, gw, flags, iface } : undefined;
      continue;
    }
    if (!cols) continue;
    const dest = f[cols.dest];
    const gwText = f[cols.gw];
    const flags = f[cols.flags];
    const iface = f[cols.iface];
    if (!dest || !gwText || !flags || !iface || !flags.includes("U")) continue;
    if (flags.includes("R") || flags.includes("B")) continue; // reject/blackhole
    const d = parseBsdDestination(dest, family);
    if (!d) continue;
    const r: RouteEntry = { family, ...d, interface: iface, metric: order++ };
    if (flags.includes("G")) {
      const g = tryParseIp(gwText.split("%")[0] as string);
      if (g?.family === family) r.gateway = formatIp(family, g.value);
    }
    out.push(r);
  }
  return out;
}

/** Parses `route -n get [-inet6] default`: the gateway and interface the kernel picks. */
export function parseRouteGetDefault(text: string, family: Family): DefaultGateway | undefined {
  const kv = new Map<string, string>();
  for (const line of String(text).split("\n")) {
    const m = /^\s*([a-z ]+):\s*(\S+)/.exec(line);
    if (m) kv.set((m[1] as string).trim(), m[2] as string);
  }
  const iface = kv.get("interface");
  if (!iface) return undefined;
  const g: DefaultGateway = { family, interface: iface, metric: -1 };
  const gw = kv.get("gateway");
  const p = gw ? tryParseIp(gw.split("%")[0] as string) : undefined;
  if (p?.family === family) g.gateway = formatIp(family, p.value);
  return g;
}

function hexMaskToPrefix(mask: string): number | undefined {
  if (/^0x[0-9a-f]{8}$/i.test(mask)) {
    const v = Number.parseInt(mask.slice(2), 16);
    const ip = [24, 16, 8, 0].map((s) => (v >>> s) & 0xff).join(".");
    try {
      return netmaskToPrefix(ip);
    } catch {
      return undefined;
    }
  }
  if (tryParseIp(mask)?.family === 4) {
    try {
      return netmaskToPrefix(mask);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Parses `ifconfig -a` (macOS/BSD): names, flags, MTU, MAC and addresses, down links included. */
export function parseIfconfig(text: string): LinkInfo[] {
  const links: LinkInfo[] = [];
  let cur: LinkInfo | undefined;
  for (const line of String(text).split("\n")) {
    const head = /^([A-Za-z0-9_.-]+):\s+flags=[0-9a-fA-F]+<([^>]*)>(?:.*\bmtu\s+(\d+))?/.exec(line);
    if (head) {
      const flags = (head[2] as string).split(",");
      cur = {
        name: head[1] as string,
        up: flags.includes("UP"),
        internal: flags.includes("LOOPBACK"),
        addresses: [],
      };
      if (head[3]) cur.mtu = Number(head[3]);
      links.push(cur);
      continue;
    }
    if (!cur || !/^\s/.test(line)) continue;
    const f = line.trim().split(/\s+/);
    if ((f[0] === "ether" || f[0] === "lladdr" || f[0] === "address:") && f[1]) {
      if (/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(f[1])) cur.mac = f[1].toLowerCase();
    } else if (f[0] === "inet" && f[1]) {
      const p = tryParseIp(f[1]);
      const mi = f.indexOf("netmask");
      const prefix = mi > 0 && f[mi + 1] ? hexMaskToPrefix(f[mi + 1] as string) : 32;
      if (p?.family === 4 && prefix !== undefined) {
        cur.addresses.push({ family: 4, address: formatIp(4, p.value), prefix });
      }
    } else if (f[0] === "inet6" && f[1]) {
      const p = tryParseIp(f[1]);
      const pi = f.indexOf("prefixlen");
      const prefix = pi > 0 ? Number(f[pi + 1]) : 128;
      if (p?.family === 6 && Number.isInteger(prefix) && prefix >= 0 && prefix <= 128) {
        const a: LinkAddress = { family: 6, address: formatIp(6, p.value), prefix };
        const si = f.indexOf("scopeid");
        const scope = si > 0 ? Number(f[si + 1]) : Number.NaN;
        if (Number.isInteger(scope) && scope > 0) {
          a.scopeIndex = scope;
          cur.index ??= scope;
        }
        cur.addresses.push(a);
      }
    }
  }
  return links;
}

/** macOS and the BSDs: ifconfig + netstat + route, all parsed from text. */
export class BsdProvider implements NetInfoProvider {
  private readonly run: CommandRunner;
  private readonly os: () => OsAddresses;

  constructor(
    readonly platform: string = "darwin",
    deps: { run?: CommandRunner; os?: () => OsAddresses } = {},
  ) {
    this.run = deps.run ?? runCommand;
    this.os = deps.os ?? osAddresses;
  }

  async listAddresses(signal?: AbortSignal): Promise<LinkInfo[]> {
    throwIfAborted(signal);
    try {
      const links = parseIfconfig(await this.run("ifconfig", ["-a"], signal ? { signal } : {}));
      if (links.length > 0) return links;
    } catch (e) {
      if (signal?.aborted) throw e;
    }
    const os = this.os();
    return [...os.addresses].map(([name, addresses]) => {
      const l: LinkInfo = { name, up: true, internal: os.internal.has(name), addresses };
      const mac = os.macs.get(name);
      if (mac) l.mac = mac;
      return l;
    });
  }

  async routes(family: Family, signal?: AbortSignal): Promise<RouteEntry[]> {
    const text = await this.run(
      "netstat",
      ["-rn", "-f", family === 4 ? "inet" : "inet6"],
      signal ? { signal } : {},
    );
    return parseNetstatRn(text).filter((r) => r.family === family);
  }

  async defaultGateways(signal?: AbortSignal): Promise<DefaultGateway[]> {
    const out: DefaultGateway[] = [];
    for (const family of [4, 6] as const) {
      const args = family === 4 ? ["-n", "get", "default"] : ["-n", "get", "-inet6", "default"];
      let picked: DefaultGateway | undefined;
      try {
        picked = parseRouteGetDefault(
          await this.run("route", args, signal ? { signal } : {}),
          family,
        );
      } catch (e) {
        if (signal?.aborted) throw e;
      }
      let table: RouteEntry[] = [];
      try {
        table = await this.routes(family, signal);
      } catch (e) {
        if (signal?.aborted) throw e;
      }
      const rest = table
        .filter((r) => r.prefix === 0 && r.interface !== picked?.interface)
        .map((r) => ({
          family,
          interface: r.interface,
          metric: r.metric,
          ...(r.gateway ? { gateway: r.gateway } : {}),
        }));
      out.push(...(picked ? [picked] : []), ...rest);
    }
    return out;
  }
}
