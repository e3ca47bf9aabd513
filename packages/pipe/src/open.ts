import { type Endpoint, type Family, formatIp, type RouteLike, tryParseIp } from "@p2pd/netifaces";
import {
  type BindSpec,
  checkPort,
  type DestLike,
  ipFamily,
  isLoopback,
  parseHostPort,
  resolveDest,
  wildcard,
} from "./address.js";
import { abortError, PipeError } from "./errors.js";
import { type PipeOptions, resolveOptions } from "./options.js";
import type { Pipe, Proto } from "./pipe.js";
import { connectTcp, listenTcp, type TcpPipe, type TcpServerPipe } from "./tcp.js";
import { bindUdp, type UdpPipe } from "./udp.js";

/** A resolved route (@p2pd/netifaces Route or any RouteLike), a plain bind spec, or nothing (wildcard). */
export type RouteArg = RouteLike | BindSpec | null | undefined;

export function isRouteLike(r: unknown): r is RouteLike {
  return typeof r === "object" && r !== null && typeof (r as RouteLike).nicBind === "function";
}

function normProto(p: unknown): Proto {
  const s = typeof p === "string" ? p.toLowerCase() : "";
  if (s === "tcp" || s === "udp") return s;
  throw new PipeError("ERR_BAD_ARGUMENT", `proto must be "tcp" or "udp", got ${String(p)}`);
}

/** The local endpoint to bind for this route / spec and destination. */
export async function bindEndpoint(
  route: RouteArg,
  dest: Endpoint | undefined,
  signal?: AbortSignal,
  dnsTimeoutMs?: number,
): Promise<Endpoint> {
  if (isRouteLike(route)) {
    const ep =
      dest && isLoopback(dest.host) && route.loopbackBind ? route.loopbackBind() : route.nicBind();
    const port = checkPort(ep.port ?? 0);
    if (dest && ep.family !== dest.family) {
      throw new PipeError(
        "ERR_FAMILY",
        `route is IPv${ep.family} but ${dest.host} is IPv${dest.family}`,
      );
    }
    return { ...ep, port };
  }
  const spec: BindSpec = route ?? {};
  if (typeof spec !== "object")
    throw new PipeError("ERR_BAD_ARGUMENT", "route must be a Route, a bind spec or undefined");
  const port = checkPort(spec.port ?? 0);
  if (spec.family !== undefined && spec.family !== 4 && spec.family !== 6) {
    throw new PipeError("ERR_FAMILY", `family must be 4 or 6, got ${String(spec.family)}`);
  }
  if (spec.host === undefined || spec.host === "") {
    const family: Family = spec.family ?? dest?.family ?? 4;
    return { host: wildcard(family), port, family };
  }
  // Only an IP literal has a "%scope"; in a name a "%" is an error (ERR_BAD_HOST), never cut off.
  const host = String(spec.host);
  let family: Family;
  let ip: string;
  const literal = tryParseIp(host);
  if (literal) {
    family = literal.family;
    ip = formatIp(literal.family, literal.value); // "[::1]", "0:0::1" -> "::1"
  } else {
    const r = await resolveDest(
      { host, port: 1 },
      { family: spec.family ?? dest?.family, signal, dnsTimeoutMs },
    );
    ip = r.host;
    family = r.family;
  }
  if (spec.family !== undefined && spec.family !== family) {
    throw new PipeError("ERR_FAMILY", `bind host ${host} is not IPv${spec.family}`);
  }
  if (dest && dest.family !== family) {
    throw new PipeError(
      "ERR_FAMILY",
      `bind host ${host} is IPv${family} but ${dest.host} is IPv${dest.family}`,
    );
  }
  const ep: Endpoint = { host: ip, port, family };
  const scope = spec.scopeId ?? literal?.scopeId;
  if (scope && family === 6) ep.scopeId = String(scope);
  return ep;
}

/** The host name a destination was given by (TLS checks certificates against it), if not an IP. */
function dialledName(dest: DestLike | string | null | undefined): string | undefined {
  if (!dest) return undefined;
  const host = typeof dest === "string" ? parseHostPort(dest).host : dest.host;
  return typeof host === "string" && ipFamily(host) === 0 ? host : undefined;
}

/**
 * Opens a pipe (P2PD's pipe_open): TCP with `dest` connects, TCP without listens, UDP binds
 * (and sends to `dest` by default). Throws a PipeError; nothing stays open on failure.
 */
export function pipeOpen(
  proto: "tcp",
  route?: RouteArg,
  dest?: undefined | null,
  opts?: PipeOptions,
): Promise<TcpServerPipe>;
export function pipeOpen(
  proto: "tcp",
  route: RouteArg,
  dest: DestLike | string,
  opts?: PipeOptions,
): Promise<TcpPipe>;
export function pipeOpen(
  proto: "udp",
  route?: RouteArg,
  dest?: DestLike | string | null,
  opts?: PipeOptions,
): Promise<UdpPipe>;
export function pipeOpen(
  proto: Proto,
  route?: RouteArg,
  dest?: DestLike | string | null,
  opts?: PipeOptions,
): Promise<Pipe>;
export async function pipeOpen(
  proto: Proto,
  route?: RouteArg,
  dest?: DestLike | string | null,
  opts: PipeOptions = {},
): Promise<Pipe> {
  const p = normProto(proto);
  const cfg = resolveOptions(opts);
  const { signal } = opts;
  if (signal?.aborted) throw abortError(signal, "pipeOpen");
  const routeFamily = isRouteLike(route)
    ? route.family
    : (route?.family ?? (route?.host ? ipFamily(route.host) || undefined : undefined));
  const { dnsTimeoutMs } = cfg;
  const to = dest
    ? await resolveDest(dest, { family: routeFamily, signal, dnsTimeoutMs })
    : undefined;
  const bind = await bindEndpoint(route, to, signal, dnsTimeoutMs);
  const routeLike = isRouteLike(route) ? route : undefined;
  let pipe: Pipe;
  if (p === "tcp") {
    pipe = to
      ? await connectTcp(bind, to, cfg, routeLike, signal, dialledName(dest))
      : await listenTcp(bind, cfg, routeLike, signal);
  } else {
    pipe = await bindUdp(bind, to, cfg, routeLike, signal);
  }
  try {
    routeLike?.setBindPort?.(pipe.local.port);
  } catch (e) {
    await pipe.close();
    throw e;
  }
  return pipe;
}

/** Alias of pipeOpen. */
export const openPipe = pipeOpen;
