import { randomBytes } from "node:crypto";
import { deadline } from "@p2pd/netifaces";
import { tryParseAddress } from "../address.js";
import { P2pdNodeError } from "../errors.js";
import { formatNameRecord, parseNameRecord, recordAddress } from "../name-record.js";
import type { NamingProvider } from "../naming.js";
import { IrcNaming } from "../naming-irc.js";
import type { Identity } from "./identity.js";
import type { SignalDispatch } from "./signal-dispatch.js";

export interface NodeNamesOptions {
  naming?: NamingProvider;
  /** IRC servers for IRCDNS, used when no `naming` is given. */
  irc?: string[];
  identity: Identity;
  signaling: SignalDispatch;
  closing: AbortSignal;
  log(line: string): void;
}

/** Names for nodes: register our name record, look a name up to a node's current address. */
export class NodeNames {
  readonly #o: NodeNamesOptions;
  #naming: NamingProvider | undefined;

  constructor(o: NodeNamesOptions) {
    this.#o = o;
    this.#naming = o.naming;
  }

  #provider(): NamingProvider {
    if (this.#naming) return this.#naming;
    const { irc, identity, log } = this.#o;
    if (irc?.length) {
      this.#naming = new IrcNaming({
        servers: irc,
        ...(identity.seed ? { seed: IrcNaming.seedFrom(identity.seed) } : {}),
        log,
      });
      return this.#naming;
    }
    throw new P2pdNodeError("ERR_NO_NAMING", "no naming provider: pass `naming` or `irc` servers");
  }

  /** Stores our name record (keys and brokers, see name-record.ts) under `name`. */
  register(name: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
    return this.#provider().register(name, formatNameRecord(this.#o.identity.parsed), opts);
  }

  /** Name record, then GET_ADDR over signaling: the node's current address. */
  async lookup(name: string, opts: { signal?: AbortSignal; timeoutMs?: number } = {}) {
    const naming = this.#provider();
    const limit = deadline(opts.timeoutMs ?? 60_000, this.#o.closing, opts.signal);
    try {
      return await this.#lookup(naming, name, limit.signal);
    } finally {
      limit.clear();
    }
  }

  async #lookup(naming: NamingProvider, name: string, signal: AbortSignal): Promise<string> {
    const value = await naming.lookup(name, { signal });
    // A name may also hold a plain P2P address (e.g. `p2pd name register --value ADDR`).
    const plain = tryParseAddress(value);
    if (plain && !value.startsWith("p2pd1:")) return value;
    const to = recordAddress(parseNameRecord(value));
    const pipeId = randomBytes(16).toString("hex");
    const reply = await this.#o.signaling.request(to, "GET_ADDR", "ADDR", pipeId, signal);
    // The dispatcher already checked that `from` is signed by the named node's key.
    return reply.from;
  }

  async close(): Promise<void> {
    await this.#naming?.close?.().catch(() => {});
  }
}
