import type { Quorum } from "./quorum.js";
import type { ServerInput } from "./servers.js";

export interface IrcDnsOptions {
  /** Seed bytes (>= 24). Needed to register and store; lookups work without it. */
  seed?: Uint8Array;
  /** Servers as "host:port", "ircs://host:port" or objects; a comma-separated string also works. Default: DEFAULT_SERVERS. */
  servers?: readonly ServerInput[] | string;
  /** Aborts everything this instance does, like close(). */
  signal?: AbortSignal;
  /** Directory of the JSON cache file, or false for none. Default ~/.p2pd. */
  cacheDir?: string | false;
  /**
   * Verify TLS certificates: chain and host name (default true). A server's own `tlsVerify: false`
   * (`ircs://…?insecure`) or `tlsPin` (`ircs://…?sha256=…`) overrides this for that server.
   */
  tlsVerify?: boolean;
  /** PEM certificate(s) to trust instead of the system's roots (a private network's CA, a lab's cert). */
  tlsCa?: string | Uint8Array | readonly (string | Uint8Array)[];
  connectTimeoutMs?: number;
  serviceTimeoutMs?: number;
  topicRestoreMs?: number;
  /** After a lookup reaches its quorum, wait this long for slower servers that may carry a newer value. */
  lookupGraceMs?: number;
  /** Debug log sink (off by default). Never receives passwords. */
  log?: (msg: string) => void;
}

export interface OpOptions {
  signal?: AbortSignal;
}

export interface LookupOptions extends OpOptions {
  /**
   * Compressed public key (66 hex digits, `LookupResult.signer` / `signerId()`) the value must be signed
   * by. Without it the quorum alone decides, which holds while at most F servers lie; with it, no
   * number of lying servers can make a lookup return another key's value.
   */
  signer?: string;
}

export interface ServerOutcome {
  server: string;
  chan: string;
  ok: boolean;
  /** Services package detected on that network (register only). */
  services?: "anope" | "atheme" | "unknown";
  error?: { code: string; message: string };
}

export interface RegisterResult {
  name: string;
  quorum: Quorum;
  succeeded: number;
  servers: ServerOutcome[];
}

export interface StoreResult extends RegisterResult {
  time: number;
}

export interface LookupResult {
  name: string;
  value: string;
  /** Unix seconds inside the newest agreeing topic. */
  time: number;
  /** Compressed secp256k1 key (hex) that F+1 servers agree on. */
  signer: string;
  /** Servers whose topics agree. */
  agreeing: string[];
  quorum: Quorum;
  servers: ServerOutcome[];
}

export interface RefreshResult {
  refreshed: number;
  failed: number;
}
