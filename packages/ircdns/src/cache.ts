import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Local state as a JSON file (the reference used SQLite with repr/eval). It holds no seed and no
 * passwords: only which accounts/channels this seed registered where, and when they were refreshed.
 */
export interface CacheData {
  version: 1;
  servers: Record<string, { accountRegistered?: boolean; dialect?: string; lastStarted?: number }>;
  channels: Record<
    string,
    { domain: string; chan: string; status: "ok" | "failed"; failures: number; lastRefresh: number }
  >;
}

const empty = (): CacheData => ({ version: 1, servers: {}, channels: {} });

function sanitize(x: unknown): CacheData {
  if (typeof x !== "object" || x === null) return empty();
  const o = x as Partial<CacheData>;
  if (o.version !== 1 || typeof o.servers !== "object" || typeof o.channels !== "object")
    return empty();
  return { version: 1, servers: { ...(o.servers ?? {}) }, channels: { ...(o.channels ?? {}) } };
}

export class JsonCache {
  data: CacheData = empty();
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string | undefined) {}

  /** Load the file; a missing or corrupt file starts empty (it is only a cache). */
  async load(): Promise<void> {
    if (!this.file) return;
    try {
      this.data = sanitize(JSON.parse(await readFile(this.file, "utf8")));
    } catch {
      this.data = empty();
    }
  }

  /** Write atomically (temp file + rename), mode 0600, one write at a time. */
  save(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    const body = JSON.stringify(this.data, null, 1);
    this.writing = this.writing.then(async () => {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, body, { mode: 0o600 });
      await rename(tmp, file);
    });
    return this.writing;
  }
}
