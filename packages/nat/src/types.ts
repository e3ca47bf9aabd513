import type { Endpoint, Family } from "@p2pd/netifaces";

export type { Endpoint, Family };

/** The seven NAT types (RFC 3489 naming, as P2PD uses them). */
export type NatType =
  | "open-internet"
  | "udp-firewall"
  | "full-cone"
  | "restricted-cone"
  | "port-restricted-cone"
  | "symmetric"
  | "blocked";

/** How mapped ports follow local ports over successive mappings. */
export type DeltaKind =
  | "not-applicable"
  | "equal"
  | "preserving"
  | "independent"
  | "dependent"
  | "random";

export interface Delta {
  kind: DeltaKind;
  /** Port step for `independent` / `dependent`; 0 otherwise. */
  value: number;
}

/** P2PD's wire codes (1..7), used in the node protocol and in `Interface.to_dict`. */
export const NAT_TYPE_CODE: Readonly<Record<NatType, number>> = {
  "open-internet": 1,
  "udp-firewall": 2,
  "full-cone": 3,
  "restricted-cone": 4,
  "port-restricted-cone": 5,
  symmetric: 6,
  blocked: 7,
};

/** P2PD's delta codes (1..6). */
export const DELTA_CODE: Readonly<Record<DeltaKind, number>> = {
  "not-applicable": 1,
  equal: 2,
  preserving: 3,
  independent: 4,
  dependent: 5,
  random: 6,
};

export const NAT_TYPES = Object.keys(NAT_TYPE_CODE) as NatType[];
export const DELTA_KINDS = Object.keys(DELTA_CODE) as DeltaKind[];

/** The classifier's answer. `type: "unknown"` (with `reason`) is our extension to the seven types. */
export interface NatResult {
  type: NatType | "unknown";
  /** Why the type is unknown, or why a server was ignored; absent when everything agreed. */
  reason?: string;
  delta: Delta;
  /** Distinct mapped (external) addresses seen, trusted servers only. */
  mapped: Endpoint[];
  /** Wall time of the classification in ms (0 when it came from the cache). */
  ms: number;
  family: Family;
  /** Servers whose answers were discarded (lying, broken CHANGE-REQUEST, silent). */
  ignored?: { server: string; why: string }[];
  /** True when the result was read from the per-network cache. */
  cached?: boolean;
}
