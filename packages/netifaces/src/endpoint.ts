/** IP family in the public API (the wire uses 2 / 10 for Python interop). */
export type Family = 4 | 6;

/** A concrete socket address. `scopeId` is the interface name (Unix) or index (Windows) for fe80::/10. */
export interface Endpoint {
  host: string;
  port: number;
  family: Family;
  scopeId?: string;
}

/**
 * What a pipe needs from a route to bind a socket: @p2pd/netifaces' Route implements it, and so can
 * any plain object, so @p2pd/pipe works without a resolved interface.
 */
export interface RouteLike {
  readonly family: Family;
  /** The local address to bind (NIC side); port 0 = ephemeral. */
  nicBind(): Endpoint;
  /** The loopback bind for destinations on loopback (127.0.0.1 / ::1, same port). */
  loopbackBind?(): Endpoint;
  /** Called by pipes with the port the OS actually bound, so the route remembers it. */
  setBindPort?(port: number): void;
}
