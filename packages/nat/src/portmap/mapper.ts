import { randomBytes } from "node:crypto";
import { isIPv6 } from "node:net";
import { networkInterfaces } from "node:os";
import { type SignalArg, signalOf, withDeadline } from "./deadline.js";
import {
  DoubleNatError,
  PortMapClosedError,
  PortMapError,
  PortMapNoGatewayError,
  PortMapRefusedError,
} from "./errors.js";
import { defaultGateway, defaultGateway6 } from "./gateway.js";
import {
  decodeNatPmpExternalAddress,
  decodeNatPmpMap,
  encodeNatPmpExternalAddressRequest,
  encodeNatPmpMapRequest,
  NATPMP_PORT,
} from "./natpmp.js";
import { decodePcpMapResponse, encodePcpMapRequest } from "./pcp.js";
import { judgeExternal, unreachableReason } from "./reach.js";
import { discoverIgd, SSDP_ADDRESS } from "./ssdp.js";
import { udpExchange } from "./udp.js";
import { type GenericEntry, UpnpGateway } from "./upnp.js";

export type PortMapMethod = "upnp" | "natpmp" | "pcp" | "upnp-pinhole";
export type PortMapProtocol = "tcp" | "udp";

export interface PortMapperOptions {
  /** Aborting it closes the mapper (mappings are removed, best effort). */
  signal?: AbortSignal;
  /** Gateway for NAT-PMP/PCP and unicast SSDP; default: the default route in /proc/net/route. */
  gateway?: string;
  /** Methods to try, in order. Default ["pcp", "natpmp", "upnp", "upnp-pinhole"]; IPv6 uses "pcp" and "upnp-pinhole". */
  methods?: PortMapMethod[];
  /** Per-request deadline in ms (default 2000). */
  timeoutMs?: number;
  /** SSDP discovery deadline in ms (default 1500). Discovery starts at once, in the background. */
  discoveryTimeoutMs?: number;
  /** M-SEARCH destinations; default the SSDP multicast group plus the gateway (unicast). */
  ssdpAddresses?: string[];
  /** Skip SSDP: the IGD description URL. */
  upnpLocation?: string;
  /** Skip IPv6 SSDP (pinholes): the IGD description URL over IPv6. */
  upnpLocation6?: string;
  /** IPv6 M-SEARCH destinations; default ff02::c and ff05::c on each IPv6 interface. */
  ssdpAddresses6?: string[];
  /** Our public address as seen from outside (e.g. by STUN): a different gateway address means double NAT. */
  observedExternalIp?: string;
  /** "report" (default): reachable=false with a reason; "throw": remove the mapping and throw DoubleNatError. */
  doubleNat?: "report" | "throw";
  /** UPnP mapping description (default "p2pd"). */
  description?: string;
  /** Renew leases at half their lifetime (default true). */
  renew?: boolean;
  /** NAT-PMP/PCP server port (default 5351; other values are for tests and odd gateways). */
  natpmpPort?: number;
  /** IPv6 gateway for PCP pinholes; default: the default route in /proc/net/ipv6_route. */
  gateway6?: string;
  /** Read the IPv6 default route from this file (tests). */
  routeFile6?: string;
  /** Read the default route from this file (tests). */
  routeFile?: string;
  /** Called when a lease is renewed or lost. */
  onChange?: (mapping: PortMapping, event: "renewed" | "lost", error?: unknown) => void;
  /** Debug log, off by default. */
  log?: (line: string) => void;
}

export interface MapRequest {
  /** Internal (local) port. */
  port: number;
  proto?: PortMapProtocol;
  /** Requested lease in seconds (default 7200); the gateway may grant another. */
  lifetime?: number;
  /** Requested external port (default: same as `port`). */
  externalPort?: number;
  /** Internal address to map to; default our address towards the gateway (IPv6: a global one). */
  internalAddress?: string;
  /** 6 asks for an IPv6 pinhole (PCP or "upnp-pinhole"). Default 4, or 6 when internalAddress is IPv6. */
  family?: 4 | 6;
  signal?: AbortSignal;
}

export interface PortMapping {
  method: PortMapMethod;
  protocol: PortMapProtocol;
  internal: { ip: string; port: number };
  external: { ip: string; port: number };
  /** Granted lease in seconds; 0 = permanent. */
  lifetime: number;
  /** When the lease ends (ms since epoch); undefined when permanent. */
  expiresAt?: number;
  gateway: string;
  /** False when the gateway's external address cannot be reached from the internet (double NAT). */
  reachable: boolean;
  reason?: string;
  renewals: number;
  /** PCP nonce (hex) / UPnP pinhole UniqueID, needed to renew and delete. */
  handle?: string;
}

export interface ExternalAddress {
  ip: string;
  method: PortMapMethod;
  gateway: string;
  reachable: boolean;
  reason?: string;
}

export interface PortMapper {
  /** Tries each method in order; resolves with the first mapping a gateway granted. */
  add(req: MapRequest): Promise<PortMapping>;
  /** Removes a mapping made here, or (for one made by another process) by port via UPnP then NAT-PMP. */
  remove(req: {
    port: number;
    proto?: PortMapProtocol;
    /** Which of our mappings, when one port is mapped for both; default IPv4 first. */
    family?: 4 | 6;
    /**
     * For a mapping made by another process: its `method` and `handle` (PCP nonce, UPnP pinhole
     * id) from that process's result, needed to delete PCP mappings and pinholes.
     */
    method?: PortMapMethod;
    handle?: string;
    externalPort?: number;
    signal?: AbortSignal;
  }): Promise<{
    method: PortMapMethod;
    external: { ip?: string; port: number };
  }>;
  /** Mappings made by this mapper and still held. */
  list(): PortMapping[];
  /** Every mapping the UPnP gateway holds (any client). Takes `{ signal }` or a bare signal. */
  listGateway(options?: SignalArg): Promise<GenericEntry[]>;
  /** The gateway's external address, from the first method that answers. Takes `{ signal }` or a bare signal. */
  externalAddress(options?: SignalArg): Promise<ExternalAddress>;
  /** Stops renewals and timers; removes the mappings unless removeMappings is false. */
  close(options?: { removeMappings?: boolean; signal?: AbortSignal }): Promise<void>;
}

interface Held {
  mapping: PortMapping;
  req: Required<Pick<MapRequest, "port" | "proto" | "lifetime">> & {
    externalPort: number;
    family: 4 | 6;
  };
  timer?: NodeJS.Timeout;
}

const key = (family: number, proto: string, port: number): string => `${family}/${proto}/${port}`;

function globalIPv6(): string | undefined {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? [])
      if (a.family === "IPv6" && !a.internal && !unreachableReason(a.address)) return a.address;
  return undefined;
}

export function createPortMapper(options: PortMapperOptions = {}): PortMapper {
  const timeoutMs = options.timeoutMs ?? 2000;
  const methods = options.methods ?? ["pcp", "natpmp", "upnp", "upnp-pinhole"];
  const log = options.log;
  const pmpPort = options.natpmpPort ?? NATPMP_PORT;
  // `life` bounds discovery and the gateway look-ups, and ends last in close(); `requests` bounds
  // every caller request and renewal and ends first, so that nothing is mapped once close() began.
  const life = new AbortController();
  const requests = new AbortController();
  const held = new Map<string, Held>();
  let closed = false;

  const gatewayP: Promise<string | undefined> = options.gateway
    ? Promise.resolve(options.gateway)
    : defaultGateway({
        signal: life.signal,
        ...(options.routeFile ? { routeFile: options.routeFile } : {}),
      });
  gatewayP.catch(() => {});
  let gateway6P: Promise<string | undefined> | undefined;

  // One discovery per family, started lazily and shared; a failed one is not cached (the next
  // request searches again: the router may be back). Pinholes need the IGD over IPv6 (secure
  // mode checks the request's source address), so IPv6 has its own, started on first use.
  const igds = new Map<4 | 6, Promise<UpnpGateway>>();
  const igd = (family: 4 | 6): Promise<UpnpGateway> => {
    const cached = igds.get(family);
    if (cached) return cached;
    const p = findIgd(family);
    igds.set(family, p);
    p.catch(() => {
      if (igds.get(family) === p) igds.delete(family);
    });
    return p;
  };
  async function findIgd(family: 4 | 6): Promise<UpnpGateway> {
    const v6 = family === 6 ? "IPv6 " : "";
    let location = family === 4 ? options.upnpLocation : options.upnpLocation6;
    if (!location) {
      const gw = family === 4 ? await gatewayP : undefined;
      const addresses =
        family === 4
          ? (options.ssdpAddresses ?? [SSDP_ADDRESS, ...(gw ? [gw] : [])])
          : options.ssdpAddresses6;
      const found = await discoverIgd({
        signal: life.signal,
        family,
        timeoutMs: options.discoveryTimeoutMs ?? 1500,
        ...(addresses ? { addresses } : {}),
        ...(log ? { log } : {}),
      });
      if (!found) throw new PortMapNoGatewayError(`UPnP: no IGD answered the ${v6}SSDP search`);
      log?.(`upnp: ${v6}IGD at ${found.location}`);
      location = found.location;
    }
    return UpnpGateway.fromLocation(location, { signal: life.signal, timeoutMs });
  }
  const upnp = (): Promise<UpnpGateway> => igd(4);
  const upnp6 = (): Promise<UpnpGateway> => igd(6);
  // IPv4 UPnP discovery runs in the background from the start; add() waits for it only when it
  // gets to the "upnp" method.
  if (methods.includes("upnp")) upnp().catch(() => {});

  const onAbort = (): void => {
    void close().catch(() => {});
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });

  async function natGateway(): Promise<string> {
    const gw = await gatewayP;
    if (!gw) throw new PortMapNoGatewayError("no default gateway (no default route)");
    return gw;
  }

  // IPv6 PCP goes to the IPv6 default gateway (usually link-local, scoped to its interface).
  async function natGateway6(): Promise<string> {
    gateway6P ??= options.gateway6
      ? Promise.resolve(options.gateway6)
      : defaultGateway6({
          signal: life.signal,
          ...(options.routeFile6 ? { routeFile: options.routeFile6 } : {}),
        });
    const gw = await gateway6P;
    if (!gw) throw new PortMapNoGatewayError("no default IPv6 gateway (no default route)");
    return gw;
  }

  function both(signal?: AbortSignal): AbortSignal {
    return signal ? AbortSignal.any([signal, requests.signal]) : requests.signal;
  }

  // One NAT-PMP/PCP request to the gateway's port 5351 (`local`: our address towards it); the
  // epoch of every answer is checked for a gateway reboot.
  async function pmp<T extends { epoch: number }>(
    gateway: string,
    what: string,
    build: (local: string) => Uint8Array,
    match: (packet: Uint8Array) => T | undefined,
    signal: AbortSignal,
  ): Promise<{ r: T; local: string }> {
    let local = "";
    const r = await udpExchange({
      gateway,
      port: pmpPort,
      build: (l) => {
        local = l;
        return build(l);
      },
      match,
      signal,
      timeoutMs,
      what,
    });
    sawEpoch(gateway, r.epoch);
    return { r, local };
  }

  async function natpmpExternal(signal: AbortSignal): Promise<{ ip: string; gateway: string }> {
    const gateway = await natGateway();
    const { r } = await pmp(
      gateway,
      "NAT-PMP external address",
      () => encodeNatPmpExternalAddressRequest(),
      (p) => decodeNatPmpExternalAddress(p),
      signal,
    );
    return { ip: r.ip, gateway };
  }

  // One method, one attempt: map (or renew, or with lifetime 0 delete) and describe the result.
  async function via(
    method: PortMapMethod,
    req: Held["req"] & { internalAddress?: string },
    signal: AbortSignal,
    handle?: string,
  ): Promise<Omit<PortMapping, "reachable" | "reason" | "renewals" | "expiresAt">> {
    const { port, proto, lifetime, externalPort } = req;
    if (method === "natpmp") {
      const gateway = await natGateway();
      const { r, local } = await pmp(
        gateway,
        "NAT-PMP map",
        () =>
          encodeNatPmpMapRequest({
            protocol: proto,
            internalPort: port,
            externalPort: lifetime ? externalPort : 0,
            lifetime,
          }),
        (p) => decodeNatPmpMap(p, proto),
        signal,
      );
      const ip = lifetime ? (await natpmpExternal(signal)).ip : "";
      return {
        method,
        protocol: proto,
        internal: { ip: req.internalAddress ?? local, port },
        external: { ip, port: r.externalPort },
        lifetime: r.lifetime,
        gateway,
      };
    }
    if (method === "pcp") {
      const gateway = req.family === 6 ? await natGateway6() : await natGateway();
      const nonce = handle ? Buffer.from(handle, "hex") : randomBytes(12);
      const { r, local } = await pmp(
        gateway,
        "PCP map",
        (l) =>
          encodePcpMapRequest({
            clientIp: l,
            nonce,
            protocol: proto,
            internalPort: port,
            externalPort,
            lifetime,
          }),
        (p) => decodePcpMapResponse(p, { nonce, protocol: proto, internalPort: port }),
        signal,
      );
      return {
        method,
        protocol: proto,
        internal: { ip: local, port },
        external: { ip: r.externalIp, port: r.externalPort },
        lifetime: r.lifetime,
        gateway,
        handle: Buffer.from(nonce).toString("hex"),
      };
    }
    if (method === "upnp-pinhole") {
      const gw = await abortable(upnp6(), signal);
      const gateway = new URL(gw.location).hostname.replace(/^\[|\]$/g, "");
      // Our address on the connection to the IGD: the one secure mode accepts.
      const ip = req.internalAddress ?? (isIPv6(gw.localAddress) ? gw.localAddress : globalIPv6());
      if (!ip || !isIPv6(ip))
        throw new PortMapNoGatewayError("UPnP pinhole: no global IPv6 address here");
      let id = handle ? Number(handle) : undefined;
      if (id !== undefined && lifetime === 0) await gw.deletePinhole(id, signal);
      else if (id !== undefined) await gw.updatePinhole(id, lifetime, signal);
      else
        id = await gw.addPinhole(
          { internalClient: ip, internalPort: port, protocol: proto, lifetime },
          signal,
        );
      return {
        method,
        protocol: proto,
        internal: { ip, port },
        external: { ip, port },
        lifetime,
        gateway,
        handle: String(id),
      };
    }
    const gw = await abortable(upnp(), signal);
    const gateway = new URL(gw.location).hostname;
    if (lifetime === 0 && handle === "delete") {
      await gw.deletePortMapping(externalPort, proto, signal);
      return {
        method,
        protocol: proto,
        internal: { ip: gw.localAddress, port },
        external: { ip: "", port: externalPort },
        lifetime: 0,
        gateway,
      };
    }
    const ip = await gw.externalIp(signal); // also learns our LAN address
    const internalClient = req.internalAddress ?? gw.localAddress;
    const r = await gw.addPortMapping(
      {
        externalPort,
        protocol: proto,
        internalPort: port,
        internalClient,
        lifetime,
        description: options.description ?? "p2pd",
        anyPort: true,
      },
      signal,
    );
    return {
      method,
      protocol: proto,
      internal: { ip: internalClient, port },
      external: { ip, port: r.externalPort },
      lifetime: r.lifetime,
      gateway,
    };
  }

  // RFC 6886 §3.6 / RFC 6887 §8.5: the epoch (seconds since the gateway's state began) must
  // advance with our clock; if it fell behind, the gateway rebooted and lost every mapping:
  // re-make them all now instead of at the next renewal.
  const epochs = new Map<string, { value: number; at: number }>();
  function sawEpoch(gateway: string, value: number): void {
    const now = Date.now();
    const prev = epochs.get(gateway);
    epochs.set(gateway, { value, at: now });
    if (!prev) return;
    const expected = prev.value + ((now - prev.at) / 1000) * (7 / 8) - 2;
    if (value >= expected) return;
    log?.(
      `gateway epoch went from ${prev.value} to ${value}: it lost its mappings, re-making them`,
    );
    for (const h of held.values()) {
      if (h.mapping.gateway !== gateway) continue;
      clearTimeout(h.timer);
      h.timer = setTimeout(() => void renew(h), 0);
      h.timer.unref?.();
    }
  }

  function schedule(h: Held): void {
    clearTimeout(h.timer);
    const m = h.mapping;
    if (options.renew === false || closed || m.lifetime === 0 || m.expiresAt === undefined) return;
    const remaining = m.expiresAt - Date.now();
    // Renew at half the lease; after a failure, retry at half of what is left.
    const wait = Math.max(500, Math.min(remaining / 2, 2 ** 31 - 1));
    h.timer = setTimeout(() => void renew(h), wait);
    h.timer.unref?.();
  }

  async function renew(h: Held): Promise<void> {
    if (closed) return;
    const m = h.mapping;
    try {
      const r = await via(
        m.method,
        { ...h.req, externalPort: m.external.port, internalAddress: m.internal.ip },
        requests.signal,
        m.handle,
      );
      m.lifetime = r.lifetime;
      m.expiresAt = r.lifetime ? Date.now() + r.lifetime * 1000 : undefined;
      m.external = r.external.ip ? r.external : { ...r.external, ip: m.external.ip };
      m.renewals++;
      log?.(`${m.method}: renewed ${m.protocol}/${m.internal.port} for ${r.lifetime} s`);
      options.onChange?.(m, "renewed");
    } catch (e) {
      if (closed) return;
      log?.(`${m.method}: renewal failed: ${(e as Error).message}`);
      if (m.expiresAt !== undefined && Date.now() >= m.expiresAt) {
        held.delete(key(h.req.family, m.protocol, m.internal.port));
        options.onChange?.(m, "lost", e);
        return;
      }
    }
    schedule(h);
  }

  async function add(r: MapRequest): Promise<PortMapping> {
    if (closed) throw new PortMapClosedError();
    const proto = checkRequest(r);
    const lifetime = r.lifetime ?? 7200;
    if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 0xffffffff)
      throw badArgument(new RangeError(`lifetime must be a positive integer, got ${lifetime}`));
    const family = r.family ?? (r.internalAddress && isIPv6(r.internalAddress) ? 6 : 4);
    const req = {
      port: r.port,
      proto,
      lifetime,
      family: family as 4 | 6,
      externalPort: r.externalPort ?? r.port,
      ...(r.internalAddress ? { internalAddress: r.internalAddress } : {}),
    };
    // IPv6 needs no translation: only a firewall pinhole, via PCP or UPnP.
    const order = methods.filter((m) =>
      family === 6 ? m === "pcp" || m === "upnp-pinhole" : m !== "upnp-pinhole",
    );
    if (order.length === 0)
      throw new PortMapNoGatewayError(`no method for IPv${family} in [${methods.join(", ")}]`);
    const errors: PortMapError[] = [];
    const signal = both(r.signal);
    for (const method of order) {
      try {
        const got = await via(method, req, signal);
        const judged =
          family === 6
            ? judgeExternal(got.external.ip)
            : judgeExternal(got.external.ip, options.observedExternalIp);
        const mapping: PortMapping = {
          ...got,
          ...(got.lifetime ? { expiresAt: Date.now() + got.lifetime * 1000 } : {}),
          reachable: judged.reachable,
          ...(judged.reason ? { reason: judged.reason } : {}),
          renewals: 0,
        };
        log?.(`${method}: mapped ${proto}/${r.port} -> ${got.external.ip}:${got.external.port}`);
        // Best-effort deletion of what was just granted, on its own deadline.
        const undo = (): Promise<unknown> =>
          withDeadline(undefined, timeoutMs, "delete", (s) =>
            via(
              method,
              { ...req, lifetime: 0, externalPort: got.external.port },
              s,
              got.handle ?? "delete",
            ),
          ).catch(() => {});
        // Granted in the very moment close() began: not ours to keep.
        if (closed) {
          await undo();
          throw new PortMapClosedError();
        }
        if (!judged.reachable && options.doubleNat === "throw") {
          await undo();
          throw new DoubleNatError(
            got.external.ip,
            `${got.external.ip} (${judged.reason}) from ${method} on ${got.gateway}`,
          );
        }
        const k = key(family, proto, r.port);
        clearTimeout(held.get(k)?.timer);
        const h: Held = { mapping, req: { ...req, externalPort: got.external.port } };
        held.set(k, h);
        schedule(h);
        return { ...mapping };
      } catch (e) {
        if (signal.aborted) throw r.signal?.aborted ? r.signal.reason : new PortMapClosedError();
        if (e instanceof DoubleNatError || !(e instanceof PortMapError)) throw e;
        log?.(`${method}: ${e.message}`);
        errors.push(e);
      }
    }
    throw pickError(errors, order);
  }

  async function remove(r: {
    port: number;
    proto?: PortMapProtocol;
    externalPort?: number;
    family?: 4 | 6;
    method?: PortMapMethod;
    handle?: string;
    signal?: AbortSignal;
  }) {
    if (closed) throw new PortMapClosedError();
    // Port 0 must never reach a gateway: a NAT-PMP delete of internal port 0 deletes them all.
    const proto = checkRequest(r);
    const signal = both(r.signal);
    const families = r.family ? [r.family] : [4, 6];
    const k = families.map((f) => key(f, proto, r.port)).find((x) => held.has(x));
    const h = k === undefined ? undefined : held.get(k);
    if (k !== undefined && h) {
      clearTimeout(h.timer);
      held.delete(k);
      const m = h.mapping;
      await via(
        m.method,
        { ...h.req, lifetime: 0, externalPort: m.external.port, internalAddress: m.internal.ip },
        signal,
        m.handle ?? "delete",
      );
      return { method: m.method, external: { ip: m.external.ip, port: m.external.port } };
    }
    // Not ours: UPnP deletes by external port, NAT-PMP by internal port. PCP needs the nonce.
    const externalPort = r.externalPort ?? r.port;
    if (r.handle !== undefined && (r.method === "pcp" || r.method === "upnp-pinhole")) {
      if (r.method === "pcp" && !/^[0-9a-f]{24}$/i.test(r.handle))
        throw badArgument(new TypeError("a PCP handle is the 24-hex-digit nonce"));
      if (r.method === "upnp-pinhole" && !/^\d+$/.test(r.handle))
        throw badArgument(new TypeError("a pinhole handle is its decimal UniqueID"));
      const family = r.family ?? (r.method === "upnp-pinhole" ? 6 : 4);
      const got = await via(
        r.method,
        { port: r.port, proto, lifetime: 0, externalPort, family },
        signal,
        r.handle,
      );
      return {
        method: r.method,
        external: { ...(got.external.ip ? { ip: got.external.ip } : {}), port: got.external.port },
      };
    }
    const errors: PortMapError[] = [];
    const order = (["upnp", "natpmp"] as const).filter((m) => methods.includes(m));
    for (const method of order) {
      try {
        await via(
          method,
          { port: r.port, proto, lifetime: 0, externalPort, family: 4 },
          signal,
          "delete",
        );
        return { method, external: { port: externalPort } };
      } catch (e) {
        if (signal.aborted) throw r.signal?.aborted ? r.signal.reason : new PortMapClosedError();
        if (!(e instanceof PortMapError)) throw e;
        errors.push(e);
      }
    }
    throw pickError(errors, [...order]);
  }

  async function externalAddress(o?: SignalArg): Promise<ExternalAddress> {
    if (closed) throw new PortMapClosedError();
    const s = signalOf(o);
    const signal = both(s);
    const errors: PortMapError[] = [];
    const order = methods.filter((m) => m === "natpmp" || m === "upnp");
    for (const method of order) {
      try {
        const { ip, gateway } =
          method === "natpmp"
            ? await natpmpExternal(signal)
            : await abortable(upnp(), signal).then(async (g) => ({
                ip: await g.externalIp(signal),
                gateway: new URL(g.location).hostname,
              }));
        const j = judgeExternal(ip, options.observedExternalIp);
        return {
          ip,
          method,
          gateway,
          reachable: j.reachable,
          ...(j.reason ? { reason: j.reason } : {}),
        };
      } catch (e) {
        if (signal.aborted) throw s?.aborted ? s.reason : new PortMapClosedError();
        if (!(e instanceof PortMapError)) throw e;
        errors.push(e);
      }
    }
    throw pickError(errors, order);
  }

  let closing: Promise<void> | undefined;
  function close(o: { removeMappings?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    // A second close (e.g. the signal's and the caller's) waits for the first one.
    closing ??= closeOnce(o);
    return closing;
  }

  async function closeOnce(o: { removeMappings?: boolean; signal?: AbortSignal }): Promise<void> {
    closed = true;
    requests.abort(new PortMapClosedError());
    options.signal?.removeEventListener("abort", onAbort);
    const all = [...held.values()];
    held.clear();
    for (const h of all) clearTimeout(h.timer);
    if (o.removeMappings !== false) {
      // Deletions get their own short deadline: the life signal is about to be aborted.
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(new PortMapClosedError()), timeoutMs * 2);
      const signal = o.signal ? AbortSignal.any([o.signal, deadline.signal]) : deadline.signal;
      await Promise.allSettled(
        all.map((h) =>
          via(
            h.mapping.method,
            {
              ...h.req,
              lifetime: 0,
              externalPort: h.mapping.external.port,
              internalAddress: h.mapping.internal.ip,
            },
            signal,
            h.mapping.handle ?? "delete",
          ),
        ),
      );
      clearTimeout(timer);
    }
    life.abort(new PortMapClosedError());
  }

  if (options.signal?.aborted) onAbort();

  return {
    add,
    remove,
    list: () => [...held.values()].map((h) => ({ ...h.mapping })),
    listGateway: async (o) => {
      if (closed) throw new PortMapClosedError();
      const signal = both(signalOf(o));
      return (await abortable(upnp(), signal)).listPortMappings(signal);
    },
    externalAddress,
    close,
  };
}

/**
 * Bad arguments stay the built-in RangeError/TypeError callers test for, with a stable code
 * (ERR_PORTMAP_BAD_ARGUMENT); nothing is sent.
 */
function badArgument<E extends Error>(e: E): E & { code: string } {
  return Object.assign(e, { code: "ERR_PORTMAP_BAD_ARGUMENT" });
}

/** The protocol ("tcp" by default) once proto, port and externalPort are valid. */
function checkRequest(r: {
  port: number;
  proto?: PortMapProtocol;
  externalPort?: number;
}): PortMapProtocol {
  const proto = r.proto ?? "tcp";
  if (proto !== "tcp" && proto !== "udp")
    throw badArgument(new TypeError(`proto must be tcp or udp, got ${String(proto)}`));
  for (const [n, v] of [
    ["port", r.port],
    ["externalPort", r.externalPort ?? r.port],
  ] as const)
    if (!Number.isInteger(v) || v < 1 || v > 65535)
      throw badArgument(new RangeError(`${n} must be 1..65535, got ${v}`));
  return proto;
}

// Shared discovery outlives one request: a request's abort must not wait for it.
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

// The most telling failure: a gateway that said no beats one that said nothing.
function pickError(errors: PortMapError[], order: string[]): PortMapError {
  const rank = [
    "ERR_PORTMAP_REFUSED",
    "ERR_PORTMAP_BAD_RESPONSE",
    "ERR_PORTMAP_TIMEOUT",
    "ERR_PORTMAP_UNSUPPORTED",
    "ERR_PORTMAP_NO_GATEWAY",
  ];
  const best = [...errors].sort((a, b) => rank.indexOf(a.code) - rank.indexOf(b.code))[0];
  const summary = [...new Set(errors.map((e) => e.message))].join("; ");
  if (!best)
    return new PortMapNoGatewayError(`no port-mapping method to try (${order.join(", ")})`);
  const E = best.constructor as new (m: string, ...rest: unknown[]) => PortMapError;
  if (best instanceof PortMapRefusedError)
    return new PortMapRefusedError(summary, best.gatewayCode, { cause: errors });
  try {
    return new E(summary, { cause: errors });
  } catch {
    return best;
  }
}
