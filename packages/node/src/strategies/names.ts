/** The built-in strategies, in the order the planner tries them (cheapest and likeliest first). */
export const STRATEGY_NAMES = ["direct", "reverse", "tcp-punch", "udp-punch", "turn"] as const;

export type BuiltinStrategyName = (typeof STRATEGY_NAMES)[number];

/** A strategy's name: a built-in one, or a plug-in's own. */
export type StrategyName = BuiltinStrategyName | (string & {});

export function isBuiltinStrategy(name: string): name is BuiltinStrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(name);
}
