import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { abortError, NatError } from "./errors.js";
import type { Family, NatResult } from "./types.js";

/** What identifies "the same network": the gateway's MAC and the external address STUN reports. */
export interface NetworkId {
  family: Family;
  /** MAC of the default gateway ("" when unknown, e.g. no ARP entry yet). */
  gatewayMac: string;
  externalIp: string;
}

interface Entry {
  result: NatResult;
  expiresAt: number;
}

interface FileShape {
  version: 1;
  entries: Record<string, Entry>;
}

export interface NatCacheOptions {
  /** Directory of the cache file (created when missing). */
  dir: string;
  /** File name inside `dir`. Default "nat-cache.json". */
  file?: string;
  /** How long a result stays valid, ms. Default one hour. */
  ttlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * NAT results cached per network in one JSON file, so a restart on the same network does not re-test.
 * No in-memory global state: every call reads the file; a write goes to a temp file and is renamed in.
 */
export class NatCache {
  readonly path: string;
  readonly ttlMs: number;
  readonly #now: () => number;
  readonly #dir: string;

  constructor(options: NatCacheOptions) {
    if (!options?.dir) throw new NatError("ERR_NAT_BAD_ARGUMENT", "NatCache needs a directory");
    this.#dir = options.dir;
    this.path = join(options.dir, options.file ?? "nat-cache.json");
    this.ttlMs = options.ttlMs ?? 3_600_000;
    this.#now = options.now ?? Date.now;
  }

  static key(id: NetworkId): string {
    return `v${id.family}|${id.gatewayMac.toLowerCase()}|${id.externalIp.toLowerCase()}`;
  }

  /** The cached result for this network, if still fresh. A missing or corrupt file reads as empty. */
  async get(id: NetworkId, options: { signal?: AbortSignal } = {}): Promise<NatResult | undefined> {
    const entry = (await this.#read(options.signal)).entries[NatCache.key(id)];
    if (!entry || entry.expiresAt <= this.#now()) return undefined;
    return { ...entry.result, cached: true, ms: 0 };
  }

  async set(
    id: NetworkId,
    result: NatResult,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const signal = options.signal;
    const data = await this.#read(signal);
    const now = this.#now();
    for (const [k, e] of Object.entries(data.entries))
      if (e.expiresAt <= now) delete data.entries[k];
    const { cached: _cached, ...plain } = result;
    data.entries[NatCache.key(id)] = { result: plain, expiresAt: now + this.ttlMs };
    try {
      await mkdir(this.#dir, { recursive: true });
      const tmp = `${this.path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      await writeFile(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600, signal });
      await rename(tmp, this.path);
    } catch (err) {
      if (signal?.aborted) throw abortError(signal);
      throw new NatError("ERR_NAT_CACHE", `cannot write ${this.path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  async clear(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (options.signal?.aborted) throw abortError(options.signal);
    await mkdir(this.#dir, { recursive: true });
    await writeFile(this.path, `${JSON.stringify({ version: 1, entries: {} })}\n`, {
      mode: 0o600,
      signal: options.signal,
    });
  }

  async #read(signal?: AbortSignal): Promise<FileShape> {
    if (signal?.aborted) throw abortError(signal);
    let text: string;
    try {
      text = await readFile(this.path, { encoding: "utf8", signal });
    } catch {
      if (signal?.aborted) throw abortError(signal);
      return { version: 1, entries: {} };
    }
    try {
      const data = JSON.parse(text) as Partial<FileShape>;
      if (data?.version !== 1 || typeof data.entries !== "object" || data.entries === null) {
        return { version: 1, entries: {} };
      }
      const entries: Record<string, Entry> = {};
      for (const [k, e] of Object.entries(data.entries)) {
        if (isEntry(e)) entries[k] = e;
      }
      return { version: 1, entries };
    } catch {
      return { version: 1, entries: {} };
    }
  }
}

function isEntry(e: unknown): e is Entry {
  const x = e as Entry;
  return (
    typeof x === "object" &&
    x !== null &&
    typeof x.expiresAt === "number" &&
    typeof x.result === "object" &&
    x.result !== null &&
    typeof x.result.type === "string" &&
    typeof x.result.delta === "object" &&
    x.result.delta !== null
  );
}

/**
 * MAC of the IPv4 default gateway from /proc/net/route + /proc/net/arp (Linux); "" elsewhere or when the
 * neighbour is not resolved. Good enough to tell home networks apart; the external IP does the rest.
 */
export async function defaultGatewayMac(options: { signal?: AbortSignal } = {}): Promise<string> {
  if (options.signal?.aborted) throw abortError(options.signal);
  const signal = options.signal;
  try {
    const routes = await readFile("/proc/net/route", { encoding: "utf8", signal });
    let gw: string | undefined;
    for (const line of routes.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1] === "00000000" && f[2] && f[2] !== "00000000") {
        const n = Number.parseInt(f[2], 16);
        gw = [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join(".");
        break;
      }
    }
    if (!gw) return "";
    const arp = await readFile("/proc/net/arp", { encoding: "utf8", signal });
    for (const line of arp.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[0] === gw && f[3] && f[3] !== "00:00:00:00:00:00") return f[3];
    }
  } catch {
    if (signal?.aborted) throw abortError(signal);
    // not Linux, or /proc not mounted
  }
  return "";
}
