import { createHash } from "node:crypto";
import { type AddressEntry, formatAddress, type P2PAddress } from "../address.js";
import { type NodeInterface, UNKNOWN_NAT } from "../interfaces.js";
import type { NodeKeys } from "../keys.js";

/** A seed option as bytes: strings are hashed (sha256) into 32 bytes. */
export function seedBytes(seed: Uint8Array | string | undefined): Uint8Array | undefined {
  return typeof seed === "string" ? createHash("sha256").update(seed).digest() : seed;
}

/**
 * Who the node is and where it can be reached: keys, node id, interfaces (updated in place by
 * the NAT test and port mappings), listen port and signaling indexes; formats the P2P address.
 */
export class Identity {
  readonly nodeId: string;
  readonly keys: NodeKeys;
  readonly seed: Uint8Array | undefined;
  readonly interfaces: NodeInterface[];
  #port = 0;
  /** Broker indexes we listen on (set once signaling has started). */
  #signal: () => readonly number[] = () => [];
  /** Our brokers as the address names them (bundled index or URL), when the transport says. */
  #rendezvous: (() => { signal: number[]; brokers: string[] }) | undefined;
  /** TURN servers the address names (URLs only, never credentials). */
  #turn: string[] = [];
  /** The address as last built, and what it was built from (every connect and signal needs it). */
  #cache: { key: string; parsed: P2PAddress; text: string } | undefined;
  #version = 0;

  constructor(keys: NodeKeys, interfaces: NodeInterface[], seed?: Uint8Array) {
    this.keys = keys;
    this.nodeId = keys.nodeId;
    this.interfaces = interfaces;
    this.seed = seed;
  }

  /** Every distinct NIC IP (IPv4 and IPv6) of our interfaces. */
  ips(): string[] {
    return [
      ...new Set(this.interfaces.flatMap((i) => [i.ipv4, i.ipv6]).filter((x) => x !== undefined)),
    ];
  }

  get port(): number {
    return this.#port;
  }

  set port(p: number) {
    this.#port = p;
    this.#version++;
  }

  get signalIndexes(): () => readonly number[] {
    return this.#signal;
  }

  set signalIndexes(f: () => readonly number[]) {
    this.#signal = f;
    this.#version++;
  }

  /** How the address names our brokers (issue 14): bundled indexes and full URLs. */
  set rendezvous(f: () => { signal: number[]; brokers: string[] }) {
    this.#rendezvous = f;
    this.#version++;
  }

  /** TURN URLs for the address (turn:HOST:PORT / turns:); others are left out. */
  set turn(urls: readonly string[]) {
    this.#turn = urls
      .filter((u) => /^turns?:(\[[0-9a-fA-F:.]+\]|[0-9A-Za-z.-]+):\d{1,5}$/.test(u))
      .slice(0, 2);
    this.#version++;
  }

  #where(): { signal: number[]; brokers: string[] } {
    return this.#rendezvous?.() ?? { signal: [...this.#signal()], brokers: [] };
  }

  #current(): { parsed: P2PAddress; text: string } {
    const w = this.#where();
    const key = `${this.#version}|${w.signal.join(",")}|${w.brokers.join(",")}`;
    if (this.#cache?.key !== key) {
      const parsed = this.build();
      this.#cache = { key, parsed, text: formatAddress(parsed) };
    }
    return this.#cache;
  }

  /** Our address as parsed fields (shared: do not modify; see build()). */
  get parsed(): P2PAddress {
    return this.#current().parsed;
  }

  /** A fresh copy of our address as parsed fields. */
  build(): P2PAddress {
    const entry = (i: NodeInterface, idx: number, fam: 4 | 6): AddressEntry[] => {
      const nic = fam === 4 ? i.ipv4 : i.ipv6;
      if (!nic) return [];
      return [
        {
          netifaceIndex: i.netifaceIndex ?? idx,
          ifIndex: idx,
          ext: (fam === 4 ? i.ext4 : i.ext6) ?? nic,
          internal: nic,
          port: this.#port,
          nat: i.nat ?? UNKNOWN_NAT,
        },
      ];
    };
    return {
      version: 3,
      ...((w) => ({
        signal: w.signal.slice(0, 6),
        ...(w.brokers.length ? { brokers: w.brokers.slice(0, 6) } : {}),
      }))(this.#where()),
      ...(this.#turn.length ? { turn: [...this.#turn] } : {}),
      ipv4: this.interfaces.flatMap((i, n) => entry(i, n, 4)),
      ipv6: this.interfaces.flatMap((i, n) => entry(i, n, 6)),
      nodeId: this.nodeId,
      keys: { x25519: this.keys.x25519.publicKey, ed25519: this.keys.ed25519.publicKey },
    };
  }

  get text(): string {
    return this.#current().text;
  }

  /** Replaces interface `i` with `fn(current)`; true when the address text changed. */
  update(i: number, fn: (cur: NodeInterface) => NodeInterface): boolean {
    const cur = this.interfaces[i];
    if (!cur) return false;
    const before = this.text;
    this.interfaces[i] = fn(cur);
    this.#version++;
    return this.text !== before;
  }
}
