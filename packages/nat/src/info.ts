import type { Delta, NatType } from "./types.js";

/** P2PD's NAT dict: the type and delta plus the derived flags the punching code switches on. */
export interface NatInfo {
  type: NatType;
  delta: Delta;
  /** Ports the NAT allocates from (inclusive). */
  range: [number, number];
  /** No NAT: open internet or a UDP firewall. */
  isOpen: boolean;
  /** A bound local port keeps its mapping for every destination (cone types). */
  canPredict: boolean;
  /** Neither open nor full cone, and the delta is not equal/preserving. */
  isHard: boolean;
  /** Concurrent punches are safe unless the delta is independent/dependent. */
  isConcurrent: boolean;
}

const EASY: readonly NatType[] = ["open-internet", "full-cone"];
const PREDICTABLE: readonly NatType[] = ["full-cone", "restricted-cone", "port-restricted-cone"];

/** Builds the NAT dict. Defaults match P2PD before a test: port-restricted cone with a random delta. */
export function natInfo(
  type: NatType = "port-restricted-cone",
  delta: Delta = { kind: "random", value: 0 },
  range: [number, number] = [1, 65535],
): NatInfo {
  const easy = EASY.includes(type);
  const badDelta = delta.kind === "independent" || delta.kind === "dependent";
  return {
    type,
    delta: { ...delta },
    range: [range[0], range[1]],
    isOpen: type === "open-internet" || type === "udp-firewall",
    canPredict: PREDICTABLE.includes(type),
    isHard: !easy && !(type === "open-internet" || type === "udp-firewall") && !isEasyDelta(delta),
    isConcurrent: easy || !badDelta,
  };
}

function isEasyDelta(d: Delta): boolean {
  return d.kind === "equal" || d.kind === "preserving";
}
