// What every port-mapping method offers the mapper, and what the mapper lends every method.
import type { PortMapMethod, PortMapProtocol, PortMapping } from "../types.js";
import type { UpnpGateway } from "../upnp.js";

/** One mapping as the mapper and the methods speak of it (validated before it gets here). */
export interface Target {
  /** Internal (local) port. */
  port: number;
  proto: PortMapProtocol;
  family: 4 | 6;
  /** The external port asked for (map) or held (unmap). */
  externalPort: number;
  internalAddress?: string;
  /** PCP nonce (hex) or UPnP pinhole UniqueID of a mapping already made. */
  handle?: string;
}

/** What a gateway granted: a mapping without the mapper's bookkeeping. */
export type Grant = Omit<PortMapping, "reachable" | "reason" | "renewals" | "expiresAt">;

export interface MapMethod {
  readonly name: PortMapMethod;
  /** Whether this method can map for this address family. */
  supports(family: 4 | 6): boolean;
  /** Adds a mapping, or with `handle` (or the same ports) renews it; `lifetime` > 0. */
  map(t: Target & { lifetime: number }, signal: AbortSignal): Promise<Grant>;
  /** Deletes a mapping; resolves with the external address the gateway reported ("" if none). */
  unmap(t: Target, signal: AbortSignal): Promise<{ ip: string; port: number }>;
  /** Methods whose mappings can only be deleted by handle: throws on a malformed one. */
  checkHandle?(handle: string): void;
  /** The gateway's external address, for the methods that can ask for it. */
  externalIp?(signal: AbortSignal): Promise<{ ip: string; gateway: string }>;
}

/** What the mapper shares between its methods: gateways, the IGDs found, the UDP exchange. */
export interface MethodContext {
  readonly timeoutMs: number;
  readonly description: string;
  readonly log: ((line: string) => void) | undefined;
  /** The default gateway of this family; PortMapNoGatewayError when there is none. */
  gateway(family: 4 | 6): Promise<string>;
  /** The UPnP IGD of this family (discovered once, shared); a request's abort does not wait. */
  igd(family: 4 | 6, signal: AbortSignal): Promise<UpnpGateway>;
  /** One NAT-PMP/PCP request and answer; `local` is our address towards the gateway. */
  exchange<T extends { epoch: number }>(x: {
    gateway: string;
    what: string;
    build(local: string): Uint8Array;
    match(packet: Uint8Array): T | undefined;
    signal: AbortSignal;
  }): Promise<{ r: T; local: string }>;
}
