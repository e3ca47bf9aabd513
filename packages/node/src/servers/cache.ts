import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Which servers answered on one network: STUN as "ip:port", brokers as URLs, best first. */
export interface CachedChoice {
  stun: string[];
  mqtt: string[];
}

interface FileShape {
  version: 1;
  entries: Record<string, CachedChoice & { expiresAt: number }>;
}

export interface ServerCacheOptions {
  /** Directory of the cache file (created when missing). */
  dir: string;
  /** File name inside `dir` (default "servers-cache.json"). */
  file?: string;
  /** How long a choice stays valid, ms (default one day). */
  ttlMs?: number;
  now?: () => number;
}

/** Most networks a cache file remembers (oldest dropped first): bounded size whatever happens. */
const MAX_NETWORKS = 64;
const MAX_PER_KIND = 16;

/**
 * Servers that worked, per network (the caller's key, e.g. gateway + NIC address), so the next
 * start on that network probes those first and is ready in one round trip. No in-memory state:
 * every call reads the file; writes go to a temp file renamed in. A corrupt file reads as empty.
 */
export class ServerCache {
  readonly path: string;
  readonly ttlMs: number;
  readonly #dir: string;
  readonly #now: () => number;

  constructor(opts: ServerCacheOptions) {
    this.#dir = opts.dir;
    this.path = join(opts.dir, opts.file ?? "servers-cache.json");
    this.ttlMs = opts.ttlMs ?? 86_400_000;
    this.#now = opts.now ?? Date.now;
  }

  async get(key: string, opts: { signal?: AbortSignal } = {}): Promise<CachedChoice | undefined> {
    const e = (await this.#read(opts.signal)).entries[key];
    if (!e || e.expiresAt <= this.#now()) return undefined;
    return { stun: e.stun, mqtt: e.mqtt };
  }

  async set(key: string, choice: CachedChoice, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const data = await this.#read(opts.signal);
    const now = this.#now();
    const kept = Object.entries(data.entries)
      .filter(([k, e]) => k !== key && e.expiresAt > now)
      .sort((a, b) => b[1].expiresAt - a[1].expiresAt)
      .slice(0, MAX_NETWORKS - 1);
    data.entries = Object.fromEntries(kept);
    data.entries[key] = {
      stun: choice.stun.slice(0, MAX_PER_KIND),
      mqtt: choice.mqtt.slice(0, MAX_PER_KIND),
      expiresAt: now + this.ttlMs,
    };
    await mkdir(this.#dir, { recursive: true });
    const tmp = `${this.path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, `${JSON.stringify(data)}\n`, { mode: 0o600, signal: opts.signal });
    await rename(tmp, this.path);
  }

  async #read(signal?: AbortSignal): Promise<FileShape> {
    try {
      const d = JSON.parse(await readFile(this.path, { encoding: "utf8", signal })) as FileShape;
      if (d?.version !== 1 || typeof d.entries !== "object" || d.entries === null) throw 0;
      for (const e of Object.values(d.entries))
        if (
          !Array.isArray(e?.stun) ||
          !Array.isArray(e.mqtt) ||
          ![...e.stun, ...e.mqtt].every((s) => typeof s === "string") ||
          typeof e.expiresAt !== "number"
        )
          throw 0;
      return d;
    } catch {
      signal?.throwIfAborted();
      return { version: 1, entries: {} };
    }
  }
}
