export interface HeatCell {
  pair: string;
  group?: string;
  strategy: string;
  ok: boolean;
  ms?: number;
  via?: string;
  code?: string;
}
export interface HeatGroup {
  name: string;
  strategies: string[];
}
export const SCALE_MS: [number, number];
export function scalePos(ms: number): number;
export function heatColour(ms: number): string;
export function renderHeatmap(data: {
  title?: string;
  cells: HeatCell[];
  pairs?: string[];
  groups?: HeatGroup[];
}): string;
export function cellsFromReport(md: string): { cells: HeatCell[]; groups: HeatGroup[] };
