import { NatError } from "./errors.js";
import { type NatInfo, natInfo } from "./info.js";
import { DELTA_CODE, type DeltaKind, NAT_TYPE_CODE, type NatType } from "./types.js";

/** P2PD's NAT dict on the wire (node protocol, `Interface.to_dict`): numeric codes. */
export interface NatWire {
  type: number;
  delta: { type: number; value: number };
  range?: [number, number];
}

const TYPE_BY_CODE = new Map(Object.entries(NAT_TYPE_CODE).map(([k, v]) => [v, k as NatType]));
const DELTA_BY_CODE = new Map(Object.entries(DELTA_CODE).map(([k, v]) => [v, k as DeltaKind]));

export function natToWire(info: NatInfo): NatWire {
  return {
    type: NAT_TYPE_CODE[info.type],
    delta: { type: DELTA_CODE[info.delta.kind], value: info.delta.value },
    range: [info.range[0], info.range[1]],
  };
}

/** Validates a NAT dict received from a peer; throws ERR_NAT_BAD_ARGUMENT on anything off. */
export function natFromWire(input: unknown): NatInfo {
  const bad = (why: string) => new NatError("ERR_NAT_BAD_ARGUMENT", `bad NAT dict: ${why}`);
  if (typeof input !== "object" || input === null) throw bad("not an object");
  const o = input as Record<string, unknown>;
  const type = TYPE_BY_CODE.get(o.type as number);
  if (!type) throw bad(`type ${String(o.type)}`);
  const d = o.delta as Record<string, unknown> | null;
  if (typeof d !== "object" || d === null) throw bad("no delta");
  const kind = DELTA_BY_CODE.get(d.type as number);
  if (!kind) throw bad(`delta type ${String(d.type)}`);
  const value = d.value ?? 0;
  if (!Number.isInteger(value) || Math.abs(value as number) > 65535)
    throw bad(`delta value ${String(value)}`);
  let range: [number, number] = [1, 65535];
  if (o.range !== undefined) {
    const r = o.range as unknown[];
    const ok =
      Array.isArray(r) &&
      r.length === 2 &&
      r.every((p) => Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 65535) &&
      (r[0] as number) <= (r[1] as number);
    if (!ok) throw bad("range");
    range = [r[0] as number, r[1] as number];
  }
  return natInfo(type, { kind, value: value as number }, range);
}
