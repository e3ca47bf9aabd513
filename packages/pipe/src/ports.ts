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

/** Expanded entries (duplicates included) one call may walk: every port, four times over. */
const MAX_EXPANDED = 4 * 65536;

/** Collects ports in order without duplicates; refuses input that expands without bound. */
class PortSet {
  readonly ports = new Set<number>();
  private expanded = 0;

  add(a: number, b = a): void {
    checkPort(a);
    checkPort(b);
    if (b < a) throw new PipeError("ERR_BAD_PORT", `port range ${a}-${b} is reversed`);
    this.expanded += b - a + 1;
    if (this.expanded > MAX_EXPANDED) throw new PipeError("ERR_BAD_PORT", "too many ports");
    for (let p = a; p <= b; p++) this.ports.add(p);
  }

  addString(s: string): void {
    if (s.length > 100_000) throw new PipeError("ERR_BAD_PORT", "port list too long");
    for (const part of s.split(",")) {
      const t = part.trim();
      const m = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(t);
      if (!m) throw new PipeError("ERR_BAD_PORT", `bad port or range "${t.slice(0, 40)}"`);
      const a = Number(m[1]);
      this.add(a, m[2] === undefined ? a : Number(m[2]));
    }
  }
}

/** Expands ports and ranges into a de-duplicated list, in order. Throws ERR_BAD_PORT. */
export function parsePorts(ports: PortsLike): number[] {
  const set = new PortSet();
  if (typeof ports === "number") set.add(ports);
  else if (typeof ports === "string") set.addString(ports);
  else if (Array.isArray(ports)) {
    for (const p of ports as unknown[]) {
      if (typeof p === "number") set.add(p);
      else if (typeof p === "string") set.addString(p);
      else if (Array.isArray(p) && p.length === 2) set.add(p[0] as number, p[1] as number);
      else
        throw new PipeError(
          "ERR_BAD_PORT",
          `bad port entry ${String(JSON.stringify(p)).slice(0, 40)}`,
        );
    }
  } else {
    throw new PipeError("ERR_BAD_PORT", "ports must be a number, a string or a list");
  }
  if (set.ports.size === 0) throw new PipeError("ERR_BAD_PORT", "no ports given");
  return [...set.ports];
}
