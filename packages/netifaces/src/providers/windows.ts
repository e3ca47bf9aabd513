import type { Family } from "../endpoint.js";
import { throwIfAborted } from "../errors.js";
import { formatIp, netmaskToPrefix, tryParseIp } from "../ip.js";
import { jsonNumber } from "../json-number.js";
import { type CommandRunner, runCommand } from "./exec.js";
import { type OsAddresses, osAddresses } from "./node-os.js";
import {
  type DefaultGateway,
  defaultsFromRoutes,
  type LinkInfo,
  type NetInfoProvider,
  type RouteEntry,
} from "./types.js";

/** ConvertTo-Json gives an object for one item and an array for several. */
function jsonList(text: string): Record<string, unknown>[] {
  const t = String(text).trim();
  if (t === "") return [];
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return [];
  }
  const list = Array.isArray(v) ? v : [v];
  return list.filter((x): x is Record<string, unknown> => typeof x === "object" && x !== null);
}

function psFamily(v: unknown, prefix: string): Family | undefined {
  if (v === 2 || v === "IPv4" || v === "InterNetwork") return 4;
  if (v === 23 || v === "IPv6" || v === "InterNetworkV6") return 6;
  const p = tryParseIp(prefix.split("/")[0] as string);
  return p?.family;
}

/**
 * Parses `Get-NetRoute | Select-Object DestinationPrefix,NextHop,RouteMetric,ifIndex,InterfaceAlias,
 * AddressFamily | ConvertTo-Json`. AddressFamily is 2/23 (Windows PowerShell) or "IPv4"/"IPv6".
 */
export function parseNetRouteJson(text: string): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const o of jsonList(text)) {
    const prefixText = typeof o.DestinationPrefix === "string" ? o.DestinationPrefix : "";
    const [ip, len] = prefixText.split("/") as [string, string | undefined];
    const family = psFamily(o.AddressFamily, prefixText);
    const dest = tryParseIp(ip);
    const prefix = Number(len);
    if (
      !family ||
      dest?.family !== family ||
      !Number.isInteger(prefix) ||
      prefix < 0 ||
      prefix > (family === 4 ? 32 : 128)
    )
      continue;
    const alias =
      typeof o.InterfaceAlias === "string" && o.InterfaceAlias !== ""
        ? o.InterfaceAlias
        : undefined;
    const index = jsonNumber(o.ifIndex ?? o.InterfaceIndex);
    const iface = alias ?? (Number.isInteger(index) ? String(index) : undefined);
    if (!iface) continue;
    const metric = jsonNumber(o.RouteMetric ?? 0);
    const r: RouteEntry = {
      family,
      destination: formatIp(family, dest.value),
      prefix,
      interface: iface,
      metric: Number.isFinite(metric) ? metric : 0,
    };
    const nh = typeof o.NextHop === "string" ? tryParseIp(o.NextHop) : undefined;
    if (nh?.family === family && nh.value !== 0n) r.gateway = formatIp(family, nh.value);
    out.push(r);
  }
  return out;
}

/** Parses `Get-NetAdapter | Select-Object Name,InterfaceIndex,MacAddress,MtuSize,Status | ConvertTo-Json`. */
export function parseNetAdapterJson(text: string): LinkInfo[] {
  const out: LinkInfo[] = [];
  for (const o of jsonList(text)) {
    if (typeof o.Name !== "string" || o.Name === "") continue;
    const l: LinkInfo = {
      name: o.Name,
      up: o.Status === "Up" || o.Status === 1,
      internal: false,
      addresses: [],
    };
    const idx = jsonNumber(o.InterfaceIndex ?? o.ifIndex);
    if (Number.isInteger(idx) && idx > 0) l.index = idx;
    const mtu = jsonNumber(o.MtuSize);
    if (Number.isInteger(mtu) && mtu > 0) l.mtu = mtu;
    if (
      typeof o.MacAddress === "string" &&
      /^[0-9a-f]{2}([-:][0-9a-f]{2}){5}$/i.test(o.MacAddress)
    ) {
      l.mac = o.MacAddress.replaceAll("-", ":").toLowerCase();
    }
    out.push(l);
  }
  return out;
}

export interface RoutePrint {
  interfaces: { index: number; mac?: string; description: string }[];
  v4: {
    destination: string;
    prefix: number;
    gateway?: string;
    interfaceIp: string;
    metric: number;
  }[];
  v6: { index: number; destination: string; prefix: number; gateway?: string; metric: number }[];
}

/** Parses `route print` (cmd.exe): interface list, IPv4 and IPv6 active routes. */
export function parseRoutePrint(text: string): RoutePrint {
  const res: RoutePrint = { interfaces: [], v4: [], v6: [] };
  let section: "none" | "ifaces" | "v4" | "v6" = "none";
  let active = false;
  for (const raw of String(text).split(/\r?\n/)) {
    const line = raw.trim();
    if (/^Interface List/i.test(line)) {
      section = "ifaces";
      continue;
    }
    if (/^IPv4 Route Table/i.test(line)) {
      section = "v4";
      active = false;
      continue;
    }
    if (/^IPv6 Route Table/i.test(line)) {
      section = "v6";
      active = false;
      continue;
    }
    if (/^Active Routes:/i.test(line)) {
      active = true;
      continue;
    }
    if (/^Persistent Routes:/i.test(line)) {
      active = false;
      continue;
    }
    if (section === "ifaces") {
      if (/^=+$/.test(line) && res.interfaces.length > 0) {
        section = "none";
        continue;
      }
      const m = /^(\d+)\.\.\.((?:[0-9a-f]{2} ){5,7}[0-9a-f]{2})?\s*\.+(.*)$/i.exec(line);
      if (m) {
        const entry: RoutePrint["interfaces"][number] = {
          index: Number(m[1]),
          description: (m[3] as string).trim(),
        };
        const macParts = m[2]?.trim().split(" ");
        if (macParts?.length === 6) entry.mac = macParts.join(":").toLowerCase();
        res.interfaces.push(entry);
      }
      continue;
    }
    if (!active) continue;
    const f = line.split(/\s+/);
    if (section === "v4" && f.length === 5) {
      const [dest, mask, gw, ifIp, metric] = f as [string, string, string, string, string];
      if (tryParseIp(dest)?.family !== 4 || tryParseIp(ifIp)?.family !== 4 || !/^\d+$/.test(metric))
        continue;
      let prefix: number;
      try {
        prefix = netmaskToPrefix(mask);
      } catch {
        continue;
      }
      const row: RoutePrint["v4"][number] = {
        destination: normalize(dest),
        prefix,
        interfaceIp: normalize(ifIp),
        metric: Number(metric),
      };
      if (gw !== "On-link" && tryParseIp(gw)?.family === 4) row.gateway = normalize(gw);
      res.v4.push(row);
    } else if (section === "v6" && (f.length === 4 || f.length === 3)) {
      const [idx, metric, destText, gw] = f as [string, string, string, string | undefined];
      const [dip, len] = destText.split("/") as [string, string | undefined];
      const p = tryParseIp(dip);
      if (
        !/^\d+$/.test(idx) ||
        !/^\d+$/.test(metric) ||
        p?.family !== 6 ||
        !len ||
        !/^\d{1,3}$/.test(len)
      )
        continue;
      if (Number(len) > 128) continue;
      const row: RoutePrint["v6"][number] = {
        index: Number(idx),
        destination: formatIp(6, p.value),
        prefix: Number(len),
        metric: Number(metric),
      };
      if (gw && gw !== "On-link" && tryParseIp(gw)?.family === 6) row.gateway = normalize(gw);
      res.v6.push(row);
    }
  }
  return res;
}

function normalize(ip: string): string {
  const p = tryParseIp(ip);
  return p ? formatIp(p.family, p.value) : ip;
}

/** Maps `route print` rows to named routes (v4 by interface IP, v6 by index). */
export function routePrintToRoutes(rp: RoutePrint, links: readonly LinkInfo[]): RouteEntry[] {
  const byIp = (ip: string) => links.find((l) => l.addresses.some((a) => a.address === ip))?.name;
  const byIndex = (i: number) =>
    links.find((l) => l.index === i || l.addresses.some((a) => a.scopeIndex === i))?.name;
  const out: RouteEntry[] = [];
  for (const r of rp.v4) {
    const name = byIp(r.interfaceIp);
    if (!name) continue;
    out.push({
      family: 4,
      destination: r.destination,
      prefix: r.prefix,
      interface: name,
      metric: r.metric,
      ...(r.gateway ? { gateway: r.gateway } : {}),
    });
  }
  for (const r of rp.v6) {
    const name = byIndex(r.index) ?? String(r.index);
    out.push({
      family: 6,
      destination: r.destination,
      prefix: r.prefix,
      interface: name,
      metric: r.metric,
      ...(r.gateway ? { gateway: r.gateway } : {}),
    });
  }
  return out;
}

const PS = ["-NoProfile", "-NonInteractive", "-Command"];

/** Windows: Node's friendly names + PowerShell JSON (Get-NetAdapter, Get-NetRoute), `route print` fallback. */
export class WindowsProvider implements NetInfoProvider {
  readonly platform = "win32";
  private readonly run: CommandRunner;
  private readonly os: () => OsAddresses;

  constructor(deps: { run?: CommandRunner; os?: () => OsAddresses } = {}) {
    this.run = deps.run ?? runCommand;
    this.os = deps.os ?? osAddresses;
  }

  async listAddresses(signal?: AbortSignal): Promise<LinkInfo[]> {
    throwIfAborted(signal);
    const os = this.os();
    let adapters: LinkInfo[] = [];
    try {
      adapters = parseNetAdapterJson(
        await this.run(
          "powershell.exe",
          [
            ...PS,
            "Get-NetAdapter | Select-Object Name,InterfaceIndex,MacAddress,MtuSize,Status | ConvertTo-Json",
          ],
          signal ? { signal } : {},
        ),
      );
    } catch (e) {
      if (signal?.aborted) throw e;
    }
    for (const a of adapters) a.addresses = [...(os.addresses.get(a.name) ?? [])];
    for (const [name, addresses] of os.addresses) {
      if (adapters.some((a) => a.name === name)) continue;
      const l: LinkInfo = { name, up: true, internal: os.internal.has(name), addresses };
      const idx = addresses.find((x) => x.scopeIndex !== undefined)?.scopeIndex;
      if (idx !== undefined) l.index = idx;
      const mac = os.macs.get(name);
      if (mac) l.mac = mac;
      adapters.push(l);
    }
    return adapters;
  }

  async routes(family: Family, signal?: AbortSignal): Promise<RouteEntry[]> {
    try {
      const text = await this.run(
        "powershell.exe",
        [
          ...PS,
          `Get-NetRoute -AddressFamily IPv${family} | Select-Object DestinationPrefix,NextHop,RouteMetric,ifIndex,InterfaceAlias,AddressFamily | ConvertTo-Json`,
        ],
        signal ? { signal } : {},
      );
      return parseNetRouteJson(text).filter((r) => r.family === family);
    } catch (e) {
      if (signal?.aborted) throw e;
      const rp = parseRoutePrint(await this.run("route", ["print"], signal ? { signal } : {}));
      return routePrintToRoutes(rp, await this.listAddresses(signal)).filter(
        (r) => r.family === family,
      );
    }
  }

  async defaultGateways(signal?: AbortSignal): Promise<DefaultGateway[]> {
    const [v4, v6] = await Promise.all([this.routes(4, signal), this.routes(6, signal)]);
    return [...defaultsFromRoutes(v4), ...defaultsFromRoutes(v6)];
  }
}
