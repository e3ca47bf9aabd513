/**
 * RFC 6886 §3.6 / RFC 6887 §8.5: a NAT-PMP/PCP gateway's epoch (seconds since its state began)
 * must advance with our clock; if it fell behind, the gateway rebooted and lost every mapping.
 */
export class EpochWatch {
  readonly #seen = new Map<string, { value: number; at: number }>();

  /** Records an answer's epoch; returns the previous one when it shows a reboot. */
  saw(gateway: string, value: number, now = Date.now()): number | undefined {
    const prev = this.#seen.get(gateway);
    this.#seen.set(gateway, { value, at: now });
    if (!prev) return undefined;
    // 7/8 of the time that passed, less 2 s: the slack both RFCs allow for clock skew.
    const expected = prev.value + ((now - prev.at) / 1000) * (7 / 8) - 2;
    return value >= expected ? undefined : prev.value;
  }
}
