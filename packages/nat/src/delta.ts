import type { Delta } from "./types.js";

/** One mapping sample: a local port and the external port a STUN server saw for it. */
export interface PortSample {
  local: number;
  mapped: number;
}

export interface DeltaOptions {
  /** Share of comparisons that must agree on a pattern (P2PD: 5 of 8). Default 0.6. */
  agreement?: number;
  /** Fewer usable comparisons than this => not-applicable (cannot tell). Default 4. */
  minComparisons?: number;
}

/**
 * Classifies the port-allocation delta (pure).
 *
 * `spread` are mappings of sockets on unrelated (OS-chosen) local ports, `consecutive` of sockets on local
 * ports start, start+1, ... Each list is in the order the mappings were created; a missing answer is `null`
 * (it breaks the adjacency, so a lost probe never fakes a step).
 * - equal: mapped == local;
 * - preserving: mapped distance == local distance;
 * - independent(d): mapped grows by d whatever the local port (seen on `spread`);
 * - dependent(d): mapped grows by d when the local port grows by 1 (seen on `consecutive` only);
 * - random: none of these.
 */
export function classifyDelta(
  spread: readonly (PortSample | null)[],
  consecutive: readonly (PortSample | null)[] = [],
  options: DeltaOptions = {},
): Delta {
  const agreement = options.agreement ?? 0.6;
  const minComparisons = options.minComparisons ?? 4;
  const enough = (hits: number, total: number) =>
    total >= minComparisons && hits >= Math.ceil(agreement * total - 1e-9);

  const samples = spread.filter((s): s is PortSample => s !== null);
  const equal = samples.filter((s) => s.local === s.mapped).length;
  if (enough(equal, samples.length)) return { kind: "equal", value: 0 };

  const a = steps(spread);
  if (a.length < minComparisons && samples.length < minComparisons) {
    return { kind: "not-applicable", value: 0 };
  }
  const preserving = a.filter((p) => p.mapped === p.local).length;
  if (enough(preserving, a.length)) return { kind: "preserving", value: 0 };
  const indep = mostCommon(a.filter((p) => p.mapped !== p.local && p.mapped !== 0));
  if (indep && enough(indep.count, a.length)) return { kind: "independent", value: indep.value };
  // Both lists' probes leave together and may interleave at the NAT: sort them as one run.
  // Sorting hides lost answers (a gap looks like a step): only with most of them in.
  const all = [...samples, ...consecutive.filter((x): x is PortSample => x !== null)];
  const reordered = all.length >= minComparisons + 2 ? sortedStep(all, a) : undefined;
  if (reordered && enough(reordered.count, all.length - 1))
    return { kind: "independent", value: reordered.value };

  const b = steps(consecutive).filter((p) => p.local === 1);
  const dep = mostCommon(b.filter((p) => p.mapped !== 0));
  if (dep && enough(dep.count, b.length)) return { kind: "dependent", value: dep.value };

  if (a.length < minComparisons) return { kind: "not-applicable", value: 0 };
  return { kind: "random", value: 0 };
}

/**
 * A sequential NAT seen through a path that reorders flows: the probes left together, but jitter
 * (per flow, so between our sockets) let them reach the NAT in another order, so adjacent samples
 * in send order show no common step. The set of mapped ports still is a run with one step: sorted,
 * it shows. The sign comes from the send order when it is clear (most NATs count up).
 */
function sortedStep(
  samples: readonly PortSample[],
  raw: readonly PortSample[],
): { value: number; count: number } | undefined {
  const sorted = samples.map((s) => s.mapped).sort((x, y) => x - y);
  const steps: PortSample[] = [];
  for (let i = 1; i < sorted.length; i++)
    steps.push({ local: 0, mapped: portStep(sorted[i - 1] as number, sorted[i] as number) });
  const best = mostCommon(steps.filter((p) => p.mapped !== 0));
  if (!best) return undefined;
  // Counting up unless the send order says down clearly: a heavily reordered run has no order left.
  const neg = raw.filter((p) => p.mapped < 0).length;
  const down = neg >= 3 && neg >= 2 * raw.filter((p) => p.mapped > 0).length;
  return { value: down ? -best.value : best.value, count: best.count };
}

/** Differences between adjacent answered samples: local step and mapped step (signed, wrapped to 16 bits). */
function steps(list: readonly (PortSample | null)[]): PortSample[] {
  const out: PortSample[] = [];
  for (let i = 1; i < list.length; i++) {
    const prev = list[i - 1];
    const cur = list[i];
    if (!prev || !cur) continue;
    out.push({ local: portStep(prev.local, cur.local), mapped: portStep(prev.mapped, cur.mapped) });
  }
  return out;
}

/** b - a in (-32768, 32768]: a NAT counting past 65535 wraps around. */
export function portStep(a: number, b: number): number {
  let d = (b - a) % 65536;
  if (d > 32768) d -= 65536;
  if (d <= -32768) d += 65536;
  return d;
}

function mostCommon(list: PortSample[]): { value: number; count: number } | undefined {
  const counts = new Map<number, number>();
  for (const p of list) counts.set(p.mapped, (counts.get(p.mapped) ?? 0) + 1);
  let best: { value: number; count: number } | undefined;
  for (const [value, count] of counts) {
    if (!best || count > best.count) best = { value, count };
  }
  return best;
}
