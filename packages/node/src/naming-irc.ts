import { hkdfSync, randomBytes } from "node:crypto";
import { IRCDNS, parseName, parseServer } from "@p2pd/ircdns";
import type { NamingProvider } from "./naming.js";
import { assertMayContact } from "./servers/guard.js";

export interface IrcNamingOptions {
  /** IRC servers, "host:port" (see @p2pd/ircdns). */
  servers: string[];
  /** Owner seed for the names (>= 24 bytes); derive it from the node seed for stable ownership. */
  seed?: Uint8Array;
  /** JSON cache directory, or false (default false: nothing written to disk). */
  cacheDir?: string | false;
  log?: (line: string) => void;
}

/** Names on IRC with @p2pd/ircdns: `name.tld` -> value, signed, on a quorum of servers. */
export class IrcNaming implements NamingProvider {
  readonly #opts: IrcNamingOptions;
  readonly #seed: Uint8Array;
  constructor(opts: IrcNamingOptions) {
    this.#opts = opts;
    this.#seed = opts.seed ?? randomBytes(32);
  }

  /** The IRCDNS owner seed from a node seed: stable, and unrelated to the node's own keys. */
  static seedFrom(nodeSeed: Uint8Array): Uint8Array {
    return Buffer.from(hkdfSync("sha256", nodeSeed, "p2pd-ircdns", "p2pd/v1 names", 32));
  }

  async #with<T>(signal: AbortSignal | undefined, f: (dns: IRCDNS) => Promise<T>): Promise<T> {
    // The tests' safety net (P2PD_FORBID_PUBLIC_SERVERS=1): never the public default networks.
    assertMayContact(this.#opts.servers.map((x) => ({ ip: parseServer(x).host })));
    const dns = await IRCDNS.start({
      seed: this.#seed,
      servers: this.#opts.servers,
      cacheDir: this.#opts.cacheDir ?? false,
      ...(signal ? { signal } : {}),
      ...(this.#opts.log ? { log: this.#opts.log } : {}),
    });
    try {
      return await f(dns);
    } finally {
      await dns.close();
    }
  }

  async register(name: string, value: string, opts: { signal?: AbortSignal } = {}) {
    const n = parseName(name);
    return this.#with(opts.signal, async (dns) => {
      await dns.register(n, { signal: opts.signal });
      await dns.store(value, n, { signal: opts.signal });
      return `${n.name}.${n.tld}`;
    });
  }

  async lookup(name: string, opts: { signal?: AbortSignal } = {}) {
    const n = parseName(name);
    return this.#with(
      opts.signal,
      async (dns) => (await dns.lookup(n, { signal: opts.signal })).value,
    );
  }
}
