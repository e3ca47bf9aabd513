import type { HeatCell, HeatGroup } from "./connectivity-svg.mjs";

export interface TrialSide {
  strategy?: string;
  connectMs?: number;
  totalMs?: number;
  tried?: Array<{ ok: boolean; code?: string }>;
  error?: string;
}
export interface TrialJson {
  profile: string;
  pair: string;
  strategy: string;
  result: { ok: boolean; a: TrialSide; b: TrialSide };
}
export function renderReport(
  opts: { trials: unknown[]; STRATEGIES: string[]; PROFILES: string[]; NODE_STRATEGIES: string },
  totalMs: number,
  profiles: string[],
): string;
export function failCode(r: TrialJson["result"]): string;
export function cellsFromTrials(json: {
  strategies: string[];
  profiles: string[];
  trials: TrialJson[];
}): { cells: HeatCell[]; groups: HeatGroup[] };
