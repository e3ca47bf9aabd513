import { NatError } from "./errors.js";
import type { NatInfo } from "./info.js";

/** A predicted mapping: bind `local`, and the NAT should show the peer `mapped`. */
export interface PortPrediction {
  local: number;
  mapped: number;
}

export interface PredictOptions {
  /** The last mapping seen from STUN (needed for preserving / independent / dependent deltas). */
  last?: PortPrediction;
  /** Local ports to use (e.g. the peer's ports, to keep both sides aligned); else chosen by `pickPort`. */
  wanted?: readonly number[];
  /** How many predictions (default: `wanted.length` or 8). */
  count?: number;
  /** Ports the NAT allocates from, inclusive; defaults to `nat.range`. */
  range?: [number, number];
  /** Source of local ports in [2000, 65535] when `wanted` is short (default: Math.random). */
  pickPort?: () => number;
}

/**
 * Predicts the external ports the next mappings will get (pure). Open / equal-delta NATs map a port to
 * itself; a preserving NAT keeps distances from the last mapping; independent and dependent deltas step
 * from the last mapped port (dependent also steps the local port by one). A random delta cannot be
 * predicted: the caller must read fresh mappings from STUN (EIM types) or give up (symmetric).
 */
export function predictMappings(nat: NatInfo, options: PredictOptions = {}): PortPrediction[] {
  const range = options.range ?? nat.range;
  const count = options.count ?? options.wanted?.length ?? 8;
  const pick = options.pickPort ?? (() => 2000 + Math.floor(Math.random() * 63536));
  const wanted = (i: number) => options.wanted?.[i] ?? pick();
  const out: PortPrediction[] = [];
  const needLast = () => {
    if (!options.last) {
      throw new NatError(
        "ERR_NAT_BAD_ARGUMENT",
        `a ${nat.delta.kind} delta needs the last mapping`,
      );
    }
    return options.last;
  };
  if (nat.isOpen || nat.delta.kind === "equal") {
    for (let i = 0; i < count; i++) {
      const p = inRange(wanted(i), range) ? wanted(i) : fromRange(range, pick);
      out.push({ local: p, mapped: p });
    }
    return out;
  }
  switch (nat.delta.kind) {
    case "preserving": {
      const last = needLast();
      for (let i = 0; i < count; i++) {
        const mapped = wrap(wanted(i), range);
        out.push({ local: wrap(last.local + (mapped - last.mapped), [1, 65535]), mapped });
      }
      return out;
    }
    case "independent":
    case "dependent": {
      const last = needLast();
      const step = nat.delta.value;
      for (let i = 1; i <= count; i++) {
        out.push({
          local: nat.delta.kind === "dependent" ? wrap(last.local + i, [1024, 65535]) : pick(),
          mapped: wrap(last.mapped + i * step, range),
        });
      }
      return out;
    }
    default:
      throw new NatError(
        "ERR_NAT_UNPREDICTABLE",
        `cannot predict mappings of a ${nat.type} NAT with a ${nat.delta.kind} delta`,
      );
  }
}

function inRange(p: number, [lo, hi]: [number, number]): boolean {
  return p >= lo && p <= hi;
}

function fromRange([lo, hi]: [number, number], pick: () => number): number {
  const p = pick();
  return inRange(p, [lo, hi]) ? p : lo + (Math.abs(p) % (hi - lo + 1));
}

/** Wraps a port into [lo, hi] the way a NAT's allocator wraps at the end of its range. */
export function wrap(p: number, [lo, hi]: [number, number]): number {
  const size = hi - lo + 1;
  return lo + ((((p - lo) % size) + size) % size);
}
