import { jsonNumber } from "./json-number.js";

/** NAT types (values as in P2PD, carried in P2P addresses). */
export const NatType = {
  OPEN_INTERNET: 1,
  SYMMETRIC_UDP_FIREWALL: 2,
  FULL_CONE: 3,
  RESTRICT_NAT: 4,
  RESTRICT_PORT_NAT: 5,
  SYMMETRIC_NAT: 6,
  BLOCKED_NAT: 7,
} as const;
export type NatType = (typeof NatType)[keyof typeof NatType];

/** How the NAT allocates external ports. */
export const DeltaType = {
  NA_DELTA: 1,
  EQUAL_DELTA: 2,
  PRESERV_DELTA: 3,
  INDEPENDENT_DELTA: 4,
  DEPENDENT_DELTA: 5,
  RANDOM_DELTA: 6,
} as const;
export type DeltaType = (typeof DeltaType)[keyof typeof DeltaType];

export interface NatInfo {
  type: NatType;
  delta: { type: DeltaType; value: number };
  range: [number, number];
}

export const NAT_TEXT: Record<NatType, string> = {
  1: "open internet",
  2: "symmetric udp firewall",
  3: "full cone",
  4: "restrict reuse",
  5: "restrict port",
  6: "symmetric",
  7: "blocked",
};

export const DELTA_TEXT: Record<DeltaType, string> = {
  1: "not applicable",
  2: "equal delta (local port == mapped port)",
  3: "preserving delta (distance between ports is kept)",
  4: "independent delta (mapped port increases independently of the local port)",
  5: "dependent delta (mapped port increases with the local port)",
  6: "random delta (local port == rand port)",
};

/** P2PD's assumption before any NAT test: port-restricted NAT with random mapping. */
export function defaultNat(): NatInfo {
  return {
    type: NatType.RESTRICT_PORT_NAT,
    delta: { type: DeltaType.RANDOM_DELTA, value: 0 },
    range: [1, 65535],
  };
}

/** Validates an unknown value as NatInfo (missing range defaults to [1, 65535]). */
export function parseNat(j: unknown): NatInfo | undefined {
  if (typeof j !== "object" || j === null) return undefined;
  const o = j as Record<string, unknown>;
  const type = jsonNumber(o.type);
  const d = (o.delta ?? {}) as Record<string, unknown>;
  const dType = jsonNumber(d.type);
  const dValue = jsonNumber(d.value ?? 0) + 0; // -0 -> 0
  if (!Number.isInteger(type) || type < 1 || type > 7) return undefined;
  if (!Number.isInteger(dType) || dType < 1 || dType > 6 || !Number.isFinite(dValue))
    return undefined;
  let range: [number, number] = [1, 65535];
  if (Array.isArray(o.range) && o.range.length === 2) {
    const [a, b] = o.range.map(Number) as [number, number];
    if (Number.isInteger(a) && Number.isInteger(b) && a >= 1 && b <= 65535 && a <= b)
      range = [a, b];
  }
  return { type: type as NatType, delta: { type: dType as DeltaType, value: dValue }, range };
}
