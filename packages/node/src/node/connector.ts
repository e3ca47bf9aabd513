import { randomBytes } from "node:crypto";
import { deadline } from "@p2pd/netifaces";
import type { Pipe } from "@p2pd/pipe";
import { type P2PAddress, parseAddress } from "../address.js";
import { isAddressForm } from "../address-form.js";
import { ConnectError, codeOf, type StrategyFailure, type TimelineEntry } from "../errors.js";
import type { NodeTransport } from "../pipe.js";
import { candidates } from "../strategies/candidates.js";
import type { StrategyName } from "../strategies/names.js";
import type { SignalMessage, Strategy, StrategyContext } from "../strategies/strategy.js";
import { natClass } from "../traversal/plan.js";
import { PathTiming } from "./path-timing.js";
import { Race, type Run } from "./race.js";
import { type PlannedStrategy, plannerNat, planRace, sequentialPlan } from "./race-plan.js";
import type { ConnectOptions, ConnectResult, StrategyTiming } from "./types.js";

/** What the race needs from the rest of the node. */
export interface ConnectorDeps {
  local(): { parsed: P2PAddress; text: string };
  strategy(name: StrategyName): Strategy;
  isBuiltin(s: Strategy): boolean;
  defaultOrder(): StrategyName[];
  lookup(name: string, signal: AbortSignal): Promise<string>;
  send(
    to: P2PAddress,
    type: string,
    pipeId: string,
    body: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<void>;
  waitFor(
    fromNodeId: string,
    type: string,
    pipeId: string,
    signal: AbortSignal,
  ): Promise<SignalMessage>;
  /** Waits for the dial-back of attempt `pipeId` from `remote` (reverse connect). */
  waitInbound(pipeId: string, remote: P2PAddress, signal: AbortSignal): Promise<Pipe>;
  /** One PING/PONG: the peer's clock when it answered. */
  pingNow(to: P2PAddress, signal: AbortSignal): Promise<number>;
  /** Wraps a transport to `remote` as a node pipe, the secure handshake started (we initiate). */
  wrap(t: NodeTransport, remote: P2PAddress, rttMs?: number): Pipe;
  /** Resolves once the pipe's far end proved it is `remote` (ERR_PEER_AUTH otherwise). */
  verified(pipe: Pipe, remote: P2PAddress): Promise<void>;
  /** Ties a pipe to a connect attempt (the first tie wins); the id it is tied to. */
  tie(pipe: Pipe, pipeId: string): string;
  /** An attempt given up: its late dial-back is closed, not adopted. */
  cancel(pipeId: string): void;
  /** Direct TCP to a Python P2PD node (plaintext); the pipe and its id. */
  dialP2pd(remote: P2PAddress, signal: AbortSignal): Promise<{ pipe: Pipe; id: string }>;
  /** Files the winning pipe under its id. */
  adoptWinner(pipe: Pipe, id: string): void;
  closing: AbortSignal;
  log(line: string): void;
}

/** `p`, or a rejection as soon as `signal` aborts (the shared work goes on for the others). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * The connect race: strategies start in plan order, each next one when the previous failed or has
 * not succeeded within its stagger; the first pipe wins, the others are aborted and their pipes
 * closed.
 */
export class Connector {
  readonly #d: ConnectorDeps;

  constructor(deps: ConnectorDeps) {
    this.#d = deps;
  }

  async connect(target: string | P2PAddress, opts: ConnectOptions = {}): Promise<ConnectResult> {
    const d = this.#d;
    const t0 = performance.now();
    const limit = deadline(opts.timeoutMs ?? 60_000, d.closing, opts.signal);
    try {
      return await this.#connect(target, opts, limit.signal, t0);
    } finally {
      limit.clear();
    }
  }

  async #connect(
    target: string | P2PAddress,
    opts: ConnectOptions,
    overall: AbortSignal,
    t0: number,
  ): Promise<ConnectResult> {
    const d = this.#d;
    let lookupMs: number | undefined;
    let remote: P2PAddress;
    if (typeof target === "string" && !isAddressForm(target)) {
      const addr = await d.lookup(target, overall);
      lookupMs = performance.now() - t0;
      remote = parseAddress(addr);
    } else {
      remote = typeof target === "string" ? parseAddress(target) : target;
    }
    if (remote.p2pd) return this.#p2pd(remote, opts, overall, t0, lookupMs);
    const local = d.local();
    const planned = planRace(
      opts.strategies ?? d.defaultOrder(),
      d.strategy,
      d.isBuiltin,
      local.parsed,
      remote,
    );
    // One clock estimate per connect, made when a punch asks (no warm-up: its PINGs would compete
    // with a direct or reverse attempt; a punch whose answer carries the peer's clock asks none);
    // its RTT, or one a punch measured (observeRtt), times the race (stagger, TURN's give-up).
    const sequential = candidates(local.parsed, remote).some((c) =>
      [c.local.nat, c.remote.nat].some((n) => natClass(plannerNat(n)) === "sym-predictable"),
    );
    const plan = sequential ? sequentialPlan(planned) : planned;
    const timing = new PathTiming((sig) => d.pingNow(remote, sig), overall, { sequential });
    const race = new Race(
      plan,
      overall,
      opts.staggerMs,
      (p, index) => this.#start(p, index, local, remote, overall, timing),
      timing,
    );
    const winner = await race.run(d).finally(() => timing.close());
    const report = race.timings.filter((t): t is StrategyTiming => t !== undefined);
    if (winner) {
      const { pipe, run } = winner;
      const id = d.tie(pipe, run.pipeId);
      d.adoptWinner(pipe, id);
      return {
        pipe,
        id,
        ...(pipe.peer ? { peer: pipe.peer } : {}),
        strategy: run.name,
        timings: {
          totalMs: performance.now() - t0,
          ...(lookupMs === undefined ? {} : { lookupMs }),
          strategies: report,
        },
        timeline: race.timeline(t0),
      };
    }
    const failed = race.failures.filter((f): f is StrategyFailure => f !== undefined);
    const detail = failed.map((f) => `${f.strategy}: ${f.code}`).join("; ");
    throw new ConnectError(
      `could not connect (${detail || "no strategy"})`,
      failed,
      "ERR_CONNECT",
      race.timeline(t0),
    );
  }

  /**
   * A Python P2PD node: direct TCP only, plaintext (P2PD's signaling is not spoken here, so the
   * other strategies are reported skipped).
   */
  async #p2pd(
    remote: P2PAddress,
    opts: ConnectOptions,
    overall: AbortSignal,
    t0: number,
    lookupMs: number | undefined,
  ): Promise<ConnectResult> {
    const d = this.#d;
    const wanted = opts.strategies ?? d.defaultOrder();
    const skipped = wanted
      .filter((s) => s !== "direct")
      .map((strategy) => ({ strategy, ok: false, skipped: true, ms: 0, code: "ERR_SKIPPED" }));
    const why = "a P2PD address is reached by direct TCP only";
    if (!wanted.includes("direct"))
      throw new ConnectError(
        `could not connect (${why})`,
        skipped.map((s) => ({ strategy: s.strategy, code: s.code, message: why, ms: 0 })),
      );
    const t = performance.now();
    try {
      const { pipe, id } = await d.dialP2pd(remote, overall);
      d.adoptWinner(pipe, id);
      const ms = performance.now() - t;
      const r2 = (x: number) => Math.round(x * 100) / 100;
      const timeline: TimelineEntry[] = wanted.map((strategy) =>
        strategy === "direct"
          ? { strategy, startMs: r2(t - t0), endMs: r2(t - t0 + ms), outcome: "won" }
          : { strategy, startMs: 0, endMs: 0, outcome: "skipped", code: "ERR_SKIPPED" },
      );
      return {
        pipe,
        id,
        strategy: "direct",
        plaintext: true,
        timings: {
          totalMs: performance.now() - t0,
          ...(lookupMs === undefined ? {} : { lookupMs }),
          // Plan order, as for any connect.
          strategies: wanted.map((strategy) =>
            strategy === "direct"
              ? { strategy, ok: true, ms }
              : { strategy, ok: false, skipped: true, ms: 0, code: "ERR_SKIPPED" },
          ),
        },
        timeline,
      };
    } catch (err) {
      const code = codeOf(err);
      const message = (err as Error).message;
      const end = Math.round((performance.now() - t0) * 100) / 100;
      throw new ConnectError(
        `could not connect (direct: ${code})`,
        [{ strategy: "direct", code, message, ms: performance.now() - t }],
        "ERR_CONNECT",
        [
          {
            strategy: "direct",
            startMs: Math.round((t - t0) * 100) / 100,
            endMs: end,
            outcome: "failed",
            code,
            message,
          },
        ],
      );
    }
  }

  #start(
    p: PlannedStrategy,
    index: number,
    local: { parsed: P2PAddress; text: string },
    remote: P2PAddress,
    overall: AbortSignal,
    timing: PathTiming,
  ): Run {
    const ctrl = new AbortController();
    const limit = deadline(p.strategy.timeoutMs, overall, ctrl.signal);
    const { signal } = limit;
    const pipeId = randomBytes(16).toString("hex");
    const ctx = this.#context(local, remote, pipeId, signal, timing);
    const run = { index, name: p.name, s0: performance.now(), ctrl, signal, pipeId } as Run;
    // new Promise: a plug-in whose run() throws synchronously fails like a rejected one.
    run.done = new Promise<Pipe>((r) => r(p.strategy.run(ctx)))
      .then(async (pipe) => {
        // A strategy wins only with a far end that proved the address's keys.
        try {
          await this.#d.verified(pipe, remote);
        } catch (err) {
          pipe.close().catch(() => {});
          throw err;
        }
        return pipe;
      })
      .then(
        (pipe) => ({ run, pipe }),
        (err: unknown) => ({ run, err }),
      )
      .finally(limit.clear);
    return run;
  }

  #context(
    local: { parsed: P2PAddress; text: string },
    remote: P2PAddress,
    pipeId: string,
    signal: AbortSignal,
    timing: PathTiming,
  ): StrategyContext {
    const d = this.#d;
    const t0 = performance.now();
    return {
      local: local.parsed,
      remote,
      localText: local.text,
      pipeId,
      signal,
      candidates: candidates(local.parsed, remote),
      send: (type, body) => d.send(remote, type, pipeId, body, signal),
      waitFor: (type, o) => d.waitFor(remote.nodeId, type, pipeId, o?.signal ?? signal),
      waitInbound: (o) => d.waitInbound(pipeId, remote, o?.signal ?? signal),
      wrap: (t) => {
        // The time since the strategy started bounds one round trip: the handshake timeout.
        const pipe = d.wrap(t, remote, performance.now() - t0);
        d.tie(pipe, pipeId);
        return pipe;
      },
      // Shared by the strategies of this connect; each still stops waiting at its own abort.
      clock: (o) => abortable(timing.clock(), o?.signal ?? signal),
      observeRtt: (ms) => timing.observe(ms),
      log: (l) => d.log(l),
    };
  }
}
