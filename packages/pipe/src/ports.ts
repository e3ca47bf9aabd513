import { checkPort } from "./address.js";
import { PipeError } from "./errors.js";

/**
 * Ports for Daemon.listenAll: a number, a string ("8000", "8000-8010", "80,443,8000-8010"),
 * or a list of numbers, strings and `[start, end]` inclusive ranges (P2PD's `[10000, [30000, 30100]]`).
 */
export type PortsLike =
  | number
  | string
  | ReadonlyArray<number | string | readonly [number, number]>;

const MAX_PORTS = 65536;

function range(a: number, b: number): number[] {
  checkPort(a);
  checkPort(b);
  if (b < a) throw new PipeError("ERR_BAD_PORT", `port range ${a}-${b} is reversed`);
  const out: number[] = [];
  for (let p = a; p <= b; p++) out.push(p);
  return out;
}

function fromString(s: string): number[] {
  return s.split(",").flatMap((part) => {
    const t = part.trim();
    const m = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(t);
    if (!m) throw new PipeError("ERR_BAD_PORT", `bad port or range "${t}"`);
    const a = Number(m[1]);
    return m[2] === undefined ? [checkPort(a)] : range(a, Number(m[2]));
  });
}

/** Expands ports and ranges into a de-duplicated list, in order. Throws ERR_BAD_PORT. */
export function parsePorts(ports: PortsLike): number[] {
  let list: number[];
  if (typeof ports === "number") list = [checkPort(ports)];
  else if (typeof ports === "string") list = fromString(ports);
  else if (Array.isArray(ports)) {
    list = ports.flatMap((p: unknown) => {
      if (typeof p === "number") return [checkPort(p)];
      if (typeof p === "string") return fromString(p);
      if (Array.isArray(p) && p.length === 2) return range(p[0] as number, p[1] as number);
      throw new PipeError("ERR_BAD_PORT", `bad port entry ${JSON.stringify(p)}`);
    });
  } else {
    throw new PipeError("ERR_BAD_PORT", "ports must be a number, a string or a list");
  }
  const unique = [...new Set(list)];
  if (unique.length === 0) throw new PipeError("ERR_BAD_PORT", "no ports given");
  if (unique.length > MAX_PORTS) throw new PipeError("ERR_BAD_PORT", "too many ports");
  return unique;
}
