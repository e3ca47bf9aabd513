import type { NatInfo, P2PAddress } from "../address.js";
import { candidates } from "../strategies/candidates.js";
import { isBuiltinStrategy, STRATEGY_NAMES, type StrategyName } from "../strategies/names.js";
import { natLike } from "../strategies/punch-common.js";
import type { Strategy } from "../strategies/strategy.js";
import { type NatLike, planStrategies } from "../traversal/plan.js";

/** An address's NAT code for the planner: 0 (not tested) is "unknown", not a guess. */
export function plannerNat(n: NatInfo): NatLike {
  return n.type === 0 ? { type: "unknown", delta: natLike(n).delta } : natLike(n);
}

/**
 * Whether the planner (traversal/plan.ts) lets a built-in strategy run between two addresses:
 * it must work for at least one candidate pair. Without a common family only TURN can.
 */
export function plannerAllows(name: StrategyName, local: P2PAddress, remote: P2PAddress): boolean {
  const pairs = candidates(local, remote);
  if (pairs.length === 0) return name === "turn";
  return pairs.some((c) =>
    (
      planStrategies(plannerNat(c.local.nat), plannerNat(c.remote.nat), {
        sameLan: c.sameLan,
      }) as string[]
    ).includes(name),
  );
}

export interface PlannedStrategy {
  name: StrategyName;
  strategy: Strategy;
  /** Neither the planner nor the strategy's own canTry rules it out. */
  possible: boolean;
}

/**
 * The race's plan: `names` in the order given, each with its strategy (ERR_UNKNOWN_STRATEGY for a
 * name not registered, before anything starts) and whether it can work. Built-in strategies ask
 * the planner first; every strategy then checks its own `canTry` (keys, configured servers, and
 * all a plug-in knows that the planner cannot).
 */
export function planRace(
  names: readonly StrategyName[],
  get: (name: StrategyName) => Strategy,
  isBuiltin: (s: Strategy) => boolean,
  local: P2PAddress,
  remote: P2PAddress,
): PlannedStrategy[] {
  const planned = names.map((name) => ({ name, strategy: get(name) }));
  return planned.map(({ name, strategy }) => ({
    name,
    strategy,
    possible:
      (!isBuiltin(strategy) || plannerAllows(name, local, remote)) &&
      strategy.canTry(local, remote),
  }));
}

/**
 * The default order: the planner's order for the built-in strategies (direct, reverse, tcp-punch,
 * udp-punch), plug-ins in registration order, and turn last when TURN servers are configured
 * (relaying is opt-in, as in P2PD: configuring a server opts in).
 */
export function defaultOrder(registered: readonly StrategyName[], turn: boolean): StrategyName[] {
  const builtins = STRATEGY_NAMES.filter((n) => n !== "turn" && registered.includes(n));
  const plugins = registered.filter((n) => !isBuiltinStrategy(n));
  return [...builtins, ...plugins, ...(turn ? ["turn" as const] : [])];
}

/**
 * The plan when a side's NAT hands out ports in sequence (we predict them): the two punches take
 * ports from the same counter and would spoil each other's predictions, so they run one after
 * the other, the UDP punch first (it needs no STUN connection, and its hole opens one round trip
 * sooner than a TCP simultaneous open); the TCP punch starts when the UDP punch failed.
 */
export function sequentialPlan(plan: PlannedStrategy[]): PlannedStrategy[] {
  const t = plan.findIndex((p) => p.name === "tcp-punch");
  const u = plan.findIndex((p) => p.name === "udp-punch");
  if (t < 0 || u < 0 || u < t) return plan;
  const out = [...plan];
  out[t] = plan[u] as PlannedStrategy;
  out[u] = plan[t] as PlannedStrategy;
  return out;
}
