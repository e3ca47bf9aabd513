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

  const b = steps(consecutive).filter((p) => p.local === 1);
  const dep = mostCommon(b.filter((p) => p.mapped !== 0));
  if (dep && enough(dep.count, b.length)) return { kind: "dependent", value: dep.value };

  if (a.length < minComparisons) return { kind: "not-applicable", value: 0 };
  // Delay jitter reorders a burst's packets before the NAT sees them, so a shared counter hands out
  // its ports in another order than we sent: sorted, the ports of both rounds still step by d.
  const sorted = sortedSteps([
    ...samples,
    ...consecutive.filter((x): x is PortSample => x !== null),
  ]);
  const counter = mostCommon(sorted.map((d) => ({ local: 0, mapped: d })));
  if (counter && enough(counter.count, sorted.length)) {
    // The sign: a counter running down shows in the send order as long as jitter left most of it;
    // a burst shuffled beyond that says nothing, and counters that count up are the common case.
    // (A round with fewer than two answers says nothing either way.)
    const shares = [discordance(spread), discordance(consecutive)].filter((d) => d !== undefined);
    const down = shares.length > 0 && shares.every((d) => d >= 2 / 3);
    return { kind: "independent", value: down ? -counter.value : counter.value };
  }
  return { kind: "random", value: 0 };
}

/** Share of sample pairs whose mapped ports go down while the send order goes on (undefined: no pair). */
function discordance(list: readonly (PortSample | null)[]): number | undefined {
  const xs = list.filter((x): x is PortSample => x !== null).map((x) => x.mapped);
  let down = 0;
  let pairs = 0;
  for (let i = 0; i < xs.length; i++) {
    for (let j = i + 1; j < xs.length; j++) {
      const d = portStep(xs[i] ?? 0, xs[j] ?? 0);
      if (d === 0) continue;
      pairs++;
      if (d < 0) down++;
    }
  }
  return pairs ? down / pairs : undefined;
}

/** Distances between the mapped ports in ascending order (a counter wrapping past 65535 breaks one). */
function sortedSteps(list: PortSample[]): number[] {
  const ports = [...new Set(list.map((p) => p.mapped))].sort((x, y) => x - y);
  const out: number[] = [];
  for (let i = 1; i < ports.length; i++) out.push((ports[i] ?? 0) - (ports[i - 1] ?? 0));
  return out;
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
