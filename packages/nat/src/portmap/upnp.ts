import { isIP } from "node:net";
import { type SignalArg, signalOf, withDeadline } from "./deadline.js";
import { PortMapBadResponseError, PortMapRefusedError } from "./errors.js";
import { httpRequest } from "./http.js";
import { buildSoapEnvelope, parseSoapResponse } from "./soap.js";
import { childText, findAll, parseXml } from "./xml.js";

export type UpnpServiceKind = "WANIPConnection" | "WANPPPConnection" | "WANIPv6FirewallControl";

export interface UpnpService {
  kind: UpnpServiceKind;
  version: number;
  serviceType: string;
  controlUrl: string;
}

export interface IgdDescription {
  friendlyName?: string;
  /** WAN connection services, best first (WANIPConnection v2, v1, then WANPPPConnection). */
  connections: UpnpService[];
  /** WANIPv6FirewallControl, when the gateway offers IPv6 pinholes. */
  firewall?: UpnpService;
}

const SERVICE_RE =
  /^urn:schemas-upnp-org:service:(WANIPConnection|WANPPPConnection|WANIPv6FirewallControl):(\d+)$/;
const RANK: Record<UpnpServiceKind, number> = {
  WANIPConnection: 0,
  WANPPPConnection: 1,
  WANIPv6FirewallControl: 2,
};

/**
 * Extracts the WAN services of an IGD device description. Control URLs are resolved against
 * URLBase or the description's own URL, must be http:// and on the description's host.
 */
export function parseIgdDescription(xml: string, location: string): IgdDescription {
  const doc = parseXml(xml);
  const base = childText(doc, "URLBase") || location;
  let host: string;
  try {
    host = new URL(location).hostname;
  } catch (e) {
    throw new PortMapBadResponseError(`UPnP: bad description URL ${location}`, { cause: e });
  }
  const services: UpnpService[] = [];
  for (const s of findAll(doc, "service")) {
    const serviceType = childText(s, "serviceType") ?? "";
    const m = SERVICE_RE.exec(serviceType);
    const control = childText(s, "controlURL");
    if (!m || !control) continue;
    let url: URL;
    try {
      url = new URL(control, base);
    } catch (e) {
      throw new PortMapBadResponseError(`UPnP: bad controlURL ${control}`, { cause: e });
    }
    if (url.protocol !== "http:")
      throw new PortMapBadResponseError(`UPnP: controlURL not http: ${url.href}`);
    // As for SSDP's LOCATION: the gateway that described itself is the one we talk to.
    if (url.hostname !== host)
      throw new PortMapBadResponseError(`UPnP: controlURL on another host: ${url.href}`);
    services.push({
      kind: m[1] as UpnpServiceKind,
      version: Number(m[2]),
      serviceType,
      controlUrl: url.href,
    });
  }
  const connections = services
    .filter((s) => s.kind !== "WANIPv6FirewallControl")
    .sort((a, b) => RANK[a.kind] - RANK[b.kind] || b.version - a.version);
  const firewall = services.find((s) => s.kind === "WANIPv6FirewallControl");
  if (connections.length === 0 && !firewall)
    throw new PortMapBadResponseError("UPnP: description has no WAN connection service");
  const friendlyName = findAll(doc, "friendlyName")[0]?.text.trim();
  return {
    connections,
    ...(firewall ? { firewall } : {}),
    ...(friendlyName ? { friendlyName } : {}),
  };
}

export interface UpnpMapping {
  externalPort: number;
  /** 0 = permanent (the gateway only accepts permanent leases). */
  lifetime: number;
}

export interface GenericEntry {
  remoteHost: string;
  externalPort: number;
  protocol: "tcp" | "udp";
  internalPort: number;
  internalClient: string;
  enabled: boolean;
  description: string;
  lifetime: number;
}

function port(v: string | undefined, what: string): number {
  if (!v || !/^\d+$/.test(v) || Number(v) > 65535)
    throw new PortMapBadResponseError(`UPnP: bad ${what} "${v}"`);
  return Number(v);
}

/** A UPnP IGD: SOAP actions on its WAN connection and IPv6 firewall services. */
export class UpnpGateway {
  readonly location: string;
  readonly description: IgdDescription;
  /** Our address as the gateway's HTTP server saw it (learnt on each request). */
  localAddress = "";
  private readonly timeoutMs: number;

  constructor(location: string, description: IgdDescription, timeoutMs = 3000) {
    this.location = location;
    this.description = description;
    this.timeoutMs = timeoutMs;
  }

  static async fromLocation(
    location: string,
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<UpnpGateway> {
    const timeoutMs = options.timeoutMs ?? 3000;
    const res = await withDeadline(options.signal, timeoutMs, "UPnP description", (signal) =>
      httpRequest(location, { signal }),
    );
    if (res.status !== 200)
      throw new PortMapBadResponseError(`UPnP description: HTTP ${res.status}`);
    const gw = new UpnpGateway(location, parseIgdDescription(res.body, location), timeoutMs);
    gw.localAddress = res.localAddress;
    return gw;
  }

  get connection(): UpnpService | undefined {
    return this.description.connections[0];
  }

  async action(
    service: UpnpService,
    action: string,
    args: [string, string | number][],
    options?: SignalArg,
  ): Promise<Record<string, string>> {
    const signal = signalOf(options);
    const res = await withDeadline(signal, this.timeoutMs, `UPnP ${action}`, (s) =>
      httpRequest(service.controlUrl, {
        method: "POST",
        signal: s,
        headers: {
          "content-type": 'text/xml; charset="utf-8"',
          soapaction: `"${service.serviceType}#${action}"`,
        },
        body: buildSoapEnvelope(service.serviceType, action, args),
      }),
    );
    if (res.localAddress) this.localAddress = res.localAddress;
    return parseSoapResponse(res.status, res.body, action);
  }

  private conn(): UpnpService {
    const c = this.connection;
    if (!c) throw new PortMapRefusedError("UPnP: the gateway has no WAN connection service");
    return c;
  }

  async externalIp(options?: SignalArg): Promise<string> {
    const signal = signalOf(options);
    const r = await this.action(this.conn(), "GetExternalIPAddress", [], signal);
    const ip = r.NewExternalIPAddress ?? "";
    if (ip === "" || ip === "0.0.0.0")
      throw new PortMapRefusedError("UPnP: the gateway's WAN connection is not connected");
    if (!isIP(ip)) throw new PortMapBadResponseError(`UPnP: bad NewExternalIPAddress "${ip}"`);
    return ip;
  }

  async addPortMapping(
    m: {
      externalPort: number;
      protocol: "tcp" | "udp";
      internalPort: number;
      internalClient: string;
      lifetime: number;
      description: string;
      /** When the asked-for external port is taken, let the gateway choose one (IGD v2). */
      anyPort?: boolean;
    },
    options?: SignalArg,
  ): Promise<UpnpMapping> {
    const signal = signalOf(options);
    const c = this.conn();
    const args = (lifetime: number): [string, string | number][] => [
      ["NewRemoteHost", ""],
      ["NewExternalPort", m.externalPort],
      ["NewProtocol", m.protocol.toUpperCase()],
      ["NewInternalPort", m.internalPort],
      ["NewInternalClient", m.internalClient],
      ["NewEnabled", 1],
      ["NewPortMappingDescription", m.description],
      ["NewLeaseDuration", lifetime],
    ];
    const anyPort = async (): Promise<UpnpMapping> => {
      const r = await this.action(c, "AddAnyPortMapping", args(m.lifetime), signal);
      return { externalPort: port(r.NewReservedPort, "NewReservedPort"), lifetime: m.lifetime };
    };
    const v2 = c.kind === "WANIPConnection" && c.version >= 2;
    // miniupnpd lets AddPortMapping (and AddAnyPortMapping) silently take over a port the same
    // client maps to another internal port. Look first, so one mapping never clobbers another;
    // when taken, try the next free ports ourselves.
    const taken = async (ext: number): Promise<string | undefined> => {
      const e = await this.getSpecificPortMappingEntry(ext, m.protocol, signal).catch(
        () => undefined,
      );
      return e && (e.internalClient !== m.internalClient || e.internalPort !== m.internalPort)
        ? `${e.internalClient}:${e.internalPort}`
        : undefined;
    };
    const holder = await taken(m.externalPort);
    if (holder) {
      if (!m.anyPort)
        throw new PortMapRefusedError(
          `UPnP: external port ${m.externalPort}/${m.protocol} is taken by ${holder}`,
          718,
        );
      for (let i = 1; i <= 16; i++) {
        const ext = ((m.externalPort - 1024 + i * 7919) % (65536 - 1024)) + 1024;
        if (await taken(ext)) continue;
        return this.addPortMapping({ ...m, externalPort: ext, anyPort: false }, signal);
      }
      throw new PortMapRefusedError(`UPnP: no free external port near ${m.externalPort}`, 718);
    }
    try {
      await this.action(c, "AddPortMapping", args(m.lifetime), signal);
      return { externalPort: m.externalPort, lifetime: m.lifetime };
    } catch (e) {
      if (!(e instanceof PortMapRefusedError)) throw e;
      // 725 OnlyPermanentLeasesSupported: IGD v1 routers that ignore lease times.
      if (e.gatewayCode === 725 && m.lifetime !== 0) {
        await this.action(c, "AddPortMapping", args(0), signal);
        return { externalPort: m.externalPort, lifetime: 0 };
      }
      // 718 ConflictInMappingEntry: on IGD v2 the gateway can pick a free port for us.
      if (e.gatewayCode === 718 && m.anyPort && v2) return anyPort();
      throw e;
    }
  }

  async deletePortMapping(
    externalPort: number,
    protocol: "tcp" | "udp",
    options?: SignalArg,
  ): Promise<void> {
    const signal = signalOf(options);
    await this.action(
      this.conn(),
      "DeletePortMapping",
      [
        ["NewRemoteHost", ""],
        ["NewExternalPort", externalPort],
        ["NewProtocol", protocol.toUpperCase()],
      ],
      signal,
    );
  }

  /** The mapping on this external port, or undefined when there is none (714 NoSuchEntryInArray). */
  async getSpecificPortMappingEntry(
    externalPort: number,
    protocol: "tcp" | "udp",
    options?: SignalArg,
  ): Promise<
    { internalPort: number; internalClient: string; enabled: boolean; lifetime: number } | undefined
  > {
    const signal = signalOf(options);
    try {
      const r = await this.action(
        this.conn(),
        "GetSpecificPortMappingEntry",
        [
          ["NewRemoteHost", ""],
          ["NewExternalPort", externalPort],
          ["NewProtocol", protocol.toUpperCase()],
        ],
        signal,
      );
      return {
        internalPort: port(r.NewInternalPort, "NewInternalPort"),
        internalClient: r.NewInternalClient ?? "",
        enabled: r.NewEnabled === "1",
        lifetime: Number(r.NewLeaseDuration ?? 0) || 0,
      };
    } catch (e) {
      if (e instanceof PortMapRefusedError && e.gatewayCode === 714) return undefined;
      throw e;
    }
  }

  /** Every mapping on the gateway, via GetGenericPortMappingEntry until 713 (index out of range). */
  async listPortMappings(options?: SignalArg, max = 256): Promise<GenericEntry[]> {
    const signal = signalOf(options);
    const out: GenericEntry[] = [];
    for (let i = 0; i < max; i++) {
      let r: Record<string, string>;
      try {
        r = await this.action(
          this.conn(),
          "GetGenericPortMappingEntry",
          [["NewPortMappingIndex", i]],
          signal,
        );
      } catch (e) {
        if (e instanceof PortMapRefusedError && (e.gatewayCode === 713 || e.gatewayCode === 714))
          break;
        throw e;
      }
      const proto = (r.NewProtocol ?? "").toLowerCase();
      if (proto !== "tcp" && proto !== "udp")
        throw new PortMapBadResponseError(`UPnP: bad NewProtocol "${r.NewProtocol}"`);
      out.push({
        remoteHost: r.NewRemoteHost ?? "",
        externalPort: port(r.NewExternalPort, "NewExternalPort"),
        protocol: proto,
        internalPort: port(r.NewInternalPort, "NewInternalPort"),
        internalClient: r.NewInternalClient ?? "",
        enabled: r.NewEnabled === "1",
        description: r.NewPortMappingDescription ?? "",
        lifetime: Number(r.NewLeaseDuration ?? 0) || 0,
      });
    }
    return out;
  }

  private fw(): UpnpService {
    const f = this.description.firewall;
    if (!f)
      throw new PortMapRefusedError("UPnP: the gateway has no WANIPv6FirewallControl service");
    return f;
  }

  /** Opens an IPv6 pinhole from any remote host; resolves to its UniqueID. */
  async addPinhole(
    p: { internalClient: string; internalPort: number; protocol: "tcp" | "udp"; lifetime: number },
    options?: SignalArg,
  ): Promise<number> {
    const signal = signalOf(options);
    const r = await this.action(
      this.fw(),
      "AddPinhole",
      [
        ["RemoteHost", ""],
        ["RemotePort", 0],
        ["InternalClient", p.internalClient],
        ["InternalPort", p.internalPort],
        ["Protocol", p.protocol === "tcp" ? 6 : 17],
        ["LeaseTime", p.lifetime],
      ],
      signal,
    );
    const id = r.UniqueID;
    if (!id || !/^\d+$/.test(id) || Number(id) > 65535)
      throw new PortMapBadResponseError(`UPnP: bad UniqueID "${id}"`);
    return Number(id);
  }

  async updatePinhole(id: number, lifetime: number, options?: SignalArg): Promise<void> {
    const signal = signalOf(options);
    await this.action(
      this.fw(),
      "UpdatePinhole",
      [
        ["UniqueID", id],
        ["NewLeaseTime", lifetime],
      ],
      signal,
    );
  }

  async deletePinhole(id: number, options?: SignalArg): Promise<void> {
    const signal = signalOf(options);
    await this.action(this.fw(), "DeletePinhole", [["UniqueID", id]], signal);
  }
}
