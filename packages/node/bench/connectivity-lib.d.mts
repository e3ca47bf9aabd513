export interface NatLikeJson {
  type: string;
  delta?: { kind: string; value: number };
}
export const repoRoot: string;
export const NAT_OF: Record<string, NatLikeJson>;
export function canRunLab(): string | undefined;
export function bundleTraversal(outDir?: string): string;
export function runChild(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; out: string; err: string }>;
export interface AgentResult {
  role: "A" | "B";
  ok: boolean;
  strategy?: string;
  connectMs?: number;
  totalMs?: number;
  birthday?: string;
  /** With `idleMs`: whether the far side's message after the idle time arrived (A only). */
  late?: boolean;
  plan?: string[];
  tried: Array<{ strategy: string; ok: boolean; ms?: number; code?: string; error?: string }>;
  error?: string;
  stderr?: string;
}
export class Lab {
  constructor(prefix: string, state: string);
  info: Record<string, string>;
  up(scenario: string[]): void;
  down(): void;
  nodeIn(host: string, ...args: string[]): string[];
  startRendezvous(): Promise<void>;
  hostIp(host: string): string;
  hostNat(host: string): string;
  nodeTrial(opts: {
    lib: string;
    peer: string;
    a: string;
    b: string;
    strategies: string;
    timeoutMs?: number;
  }): Promise<{ ok: boolean; strategy?: string; ms?: number; error?: string }>;
  trial(opts: {
    lib: string;
    a: string;
    b: string;
    natA: NatLikeJson;
    natB: NatLikeJson;
    strategy: string;
    room: string;
    sameLan?: boolean;
    debug?: boolean;
    timeoutMs?: number;
    /** UDP punch only: stay idle this long after the hello, then B sends first (`late` in A's result). */
    idleMs?: number;
    /** The punched stream's keep-alive period (with `idleMs`). */
    keepAliveMs?: number;
  }): Promise<{ a: AgentResult; b: AgentResult; ok: boolean }>;
}
