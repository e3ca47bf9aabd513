import { P2pdNodeError } from "../errors.js";
import type { TurnServerConfig } from "../node/types.js";
import { direct } from "./direct.js";
import { reverse } from "./reverse.js";
import { parseServer } from "./signal-fields.js";
import type { Strategy, StrategyName } from "./strategy.js";
import { tcpPunchStrategy } from "./tcp-punch.js";
import { turnStrategy } from "./turn.js";
import { udpPunchStrategy } from "./udp-punch.js";

/** Name -> strategy. Each node owns one (no global state); plug-ins register into it. */
export class StrategyRegistry {
  readonly #map = new Map<string, Strategy>();

  constructor(strategies: Strategy[] = []) {
    for (const s of strategies) this.register(s);
  }

  register(s: Strategy): this {
    this.#map.set(s.name, s);
    return this;
  }

  get(name: StrategyName): Strategy {
    const s = this.#map.get(name);
    if (!s) throw new P2pdNodeError("ERR_UNKNOWN_STRATEGY", `unknown strategy "${name}"`);
    return s;
  }

  has(name: string): boolean {
    return this.#map.has(name);
  }

  names(): StrategyName[] {
    return [...this.#map.keys()];
  }

  /** The strategy that answers a signaling message type, if any. */
  answering(type: string): Strategy | undefined {
    for (const s of this.#map.values()) if (s.answers?.includes(type)) return s;
    return undefined;
  }
}

/**
 * The strategies every node knows, configured from the node's STUN and TURN servers.
 * connect() tries direct, reverse, tcp-punch, udp-punch by default; turn is opt-in.
 */
export function builtinStrategies(
  cfg: { stun?: string[]; turn?: TurnServerConfig[]; turnForStrangers?: boolean } = {},
): Strategy[] {
  const stun = (cfg.stun ?? []).flatMap((s) => {
    try {
      return [parseServer(s)];
    } catch {
      return []; // names: the NAT test resolves them; punching needs IP literals
    }
  });
  return [
    direct,
    reverse,
    tcpPunchStrategy({ stun }),
    udpPunchStrategy({ stun }),
    turnStrategy(cfg.turn ?? [], { strangers: cfg.turnForStrangers ?? false }),
  ];
}

export const DEFAULT_STRATEGIES: StrategyName[] = ["direct", "reverse"];
