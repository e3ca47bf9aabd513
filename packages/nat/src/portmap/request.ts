// Checks of what callers pass in, and the fallback over methods with the one error it reports.
import {
  DoubleNatError,
  PortMapClosedError,
  PortMapError,
  PortMapNoGatewayError,
  PortMapRefusedError,
} from "./errors.js";
import type { PortMapMethod, PortMapProtocol } from "./types.js";

/**
 * Bad arguments stay the built-in RangeError/TypeError callers test for, with a stable code
 * (ERR_PORTMAP_BAD_ARGUMENT); nothing is sent.
 */
export function badArgument<E extends Error>(e: E): E & { code: string } {
  return Object.assign(e, { code: "ERR_PORTMAP_BAD_ARGUMENT" });
}

/** The protocol ("tcp" by default) once proto, port and externalPort are valid. */
export function checkRequest(r: {
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

/** The requested lease (default 7200 s) once it is valid: 0 would delete. */
export function checkLifetime(lifetime = 7200): number {
  if (!Number.isInteger(lifetime) || lifetime < 1 || lifetime > 0xffffffff)
    throw badArgument(new RangeError(`lifetime must be a positive integer, got ${lifetime}`));
  return lifetime;
}

/** The address family when one is given: 4 or 6. */
export function checkFamily(family: number | undefined): 4 | 6 | undefined {
  if (family === undefined || family === 4 || family === 6) return family;
  throw badArgument(new RangeError(`family must be 4 or 6, got ${family}`));
}

const RANK = [
  "ERR_PORTMAP_REFUSED",
  "ERR_PORTMAP_BAD_RESPONSE",
  "ERR_PORTMAP_TIMEOUT",
  "ERR_PORTMAP_UNSUPPORTED",
  "ERR_PORTMAP_NO_GATEWAY",
];

/**
 * The most telling failure of the methods tried (a gateway that said no beats one that said
 * nothing), with every method's message and the errors as its cause.
 */
export function pickError(errors: PortMapError[], order: string[]): PortMapError {
  const best = [...errors].sort((a, b) => RANK.indexOf(a.code) - RANK.indexOf(b.code))[0];
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

/**
 * Tries each method in turn: the first success wins, else the most telling failure. `signal`
 * aborted (by the caller's `caller` or by close()) ends it with the caller's reason or
 * PortMapClosedError; errors that are not a method's failure are thrown as they are.
 */
export async function fallback<M extends { name: PortMapMethod }, T>(
  order: M[],
  signal: AbortSignal,
  caller: AbortSignal | undefined,
  log: ((line: string) => void) | undefined,
  attempt: (m: M) => Promise<T>,
): Promise<T> {
  const errors: PortMapError[] = [];
  for (const m of order) {
    try {
      return await attempt(m);
    } catch (e) {
      if (signal.aborted) throw caller?.aborted ? caller.reason : new PortMapClosedError();
      if (e instanceof DoubleNatError || !(e instanceof PortMapError)) throw e;
      log?.(`${m.name}: ${e.message}`);
      errors.push(e);
    }
  }
  throw pickError(
    errors,
    order.map((m) => m.name),
  );
}
