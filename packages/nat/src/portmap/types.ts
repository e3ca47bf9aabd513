// The port mapper's public types; the mapper (mapper.ts) and each method (methods/) share them.
import type { SignalArg } from "./deadline.js";
import type { GenericEntry } from "./upnp.js";

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
