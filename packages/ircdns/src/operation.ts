import type { JsonCache } from "./cache.js";
import { IrcDnsError } from "./errors.js";
import type { Name } from "./names.js";
import type { Quorum } from "./quorum.js";
import type { ServerOutcome } from "./results.js";
import type { ServerSpec } from "./servers.js";
import type { ServiceTimeouts } from "./services.js";
import type { Sessions } from "./sessions.js";

/** What register, store and lookup use of their IRCDNS instance. */
export interface Operation {
  readonly servers: readonly ServerSpec[];
  readonly quorum: Quorum;
  readonly cache: JsonCache;
  readonly sessions: Sessions;
  readonly timeouts: ServiceTimeouts;
  readonly lookupGraceMs: number;
  log(msg: string): void;
  /** The seed, or ERR_IRCDNS_NO_SEED. */
  requireSeed(): Uint8Array;
  /** Channel and time-lock of a name on one server (computed once). */
  channel(n: Name, s: ServerSpec): { chan: string; timeLock: Uint8Array };
  /** Throws once the instance is closed or `signal` aborted. */
  throwIfAborted(signal: AbortSignal): void;
}

export type Settled<T> =
  | { s: ServerSpec; ok: true; v: T }
  | { s: ServerSpec; ok: false; e: unknown };

/** Runs `fn` on every server in parallel; each server's value or error. */
export function settle<T>(
  servers: readonly ServerSpec[],
  fn: (s: ServerSpec) => Promise<T>,
): Promise<Settled<T>[]> {
  return Promise.all(
    servers.map((s) =>
      fn(s).then(
        (v) => ({ s, ok: true as const, v }),
        (e) => ({ s, ok: false as const, e }),
      ),
    ),
  );
}

/** " (server: CODE message; ...)" for error messages. */
export function why(servers: ServerOutcome[]): string {
  const bad = servers
    .filter((x) => x.error)
    .map((x) => `${x.server}: ${x.error?.code} ${x.error?.message}`);
  return bad.length ? ` (${bad.join("; ")})` : "";
}

export function errInfo(e: unknown): { code: string; message: string } {
  if (e instanceof IrcDnsError) return { code: e.code, message: e.message };
  return { code: "ERR_IRCDNS_INTERNAL", message: e instanceof Error ? e.message : String(e) };
}
