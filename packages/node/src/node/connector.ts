import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import type { Pipe } from "@p2pd/pipe";
import { type P2PAddress, parseAddress } from "../address.js";
import { ConnectError, type StrategyFailure } from "../errors.js";
import type { NodeTransport } from "../pipe.js";
import { candidates } from "../strategies/candidates.js";
import type { StrategyName } from "../strategies/names.js";
import type { SignalMessage, Strategy, StrategyContext } from "../strategies/strategy.js";
import { natClass } from "../traversal/plan.js";
import { PathTiming } from "./path-timing.js";
import { Race, type Run } from "./race.js";
import { type PlannedStrategy, plannerNat, planRace } from "./race-plan.js";
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

function looksLikeAddress(s: string): boolean {
  return s.includes("[") || s.split("-").length >= 4;
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
    const overall = AbortSignal.any([
      d.closing,
      AbortSignal.timeout(opts.timeoutMs ?? 60_000),
      ...(opts.signal ? [opts.signal] : []),
    ]);
    setMaxListeners(0, overall);
    let lookupMs: number | undefined;
    let remote: P2PAddress;
    if (typeof target === "string" && !looksLikeAddress(target)) {
      const addr = await d.lookup(target, overall);
      lookupMs = performance.now() - t0;
      remote = parseAddress(addr);
    } else {
      remote = typeof target === "string" ? parseAddress(target) : target;
    }
    const local = d.local();
    const plan = planRace(
      opts.strategies ?? d.defaultOrder(),
      d.strategy,
      d.isBuiltin,
      local.parsed,
      remote,
    );
    // One clock estimate per connect, made when the first punch asks (no warm-up: its PINGs would
    // compete with a direct or reverse attempt); its RTT times the race (stagger, TURN's give-up).
    const sequential = candidates(local.parsed, remote).some((c) =>
      [c.local.nat, c.remote.nat].some((n) => natClass(plannerNat(n)) === "sym-predictable"),
    );
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
      };
    }
    const failed = race.failures.filter((f): f is StrategyFailure => f !== undefined);
    const detail = failed.map((f) => `${f.strategy}: ${f.code}`).join("; ");
    throw new ConnectError(`could not connect (${detail || "no strategy"})`, failed);
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
    const signal = AbortSignal.any([
      overall,
      ctrl.signal,
      AbortSignal.timeout(p.strategy.timeoutMs),
    ]);
    setMaxListeners(0, signal);
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
      );
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
      log: (l) => d.log(l),
    };
  }
}
