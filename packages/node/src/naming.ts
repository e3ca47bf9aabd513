import { P2pdNodeError } from "./errors.js";

/** Where node names live (IRCDNS in the reference, PNP in v3). The node stores its address as the value. */
export interface NamingProvider {
  /** Registers `name` -> `address`; resolves with the full registered name. */
  register(name: string, address: string, opts?: { signal?: AbortSignal }): Promise<string>;
  /** Resolves a name to the address stored under it. */
  lookup(name: string, opts?: { signal?: AbortSignal }): Promise<string>;
  close?(): Promise<void>;
}

/** An in-process name table: tests, the demo, and nodes sharing one process. */
export class MemoryNaming implements NamingProvider {
  readonly #names = new Map<string, string>();
  async register(name: string, address: string): Promise<string> {
    this.#names.set(name, address);
    return name;
  }
  async lookup(name: string): Promise<string> {
    const v = this.#names.get(name);
    if (v === undefined) throw new P2pdNodeError("ERR_NAME_NOT_FOUND", `no such name "${name}"`);
    return v;
  }
}
