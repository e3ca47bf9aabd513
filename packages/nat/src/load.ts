import { type DetectNatOptions, detectNat } from "./detect.js";
import { type NatInfo, natInfo } from "./info.js";
import type { NatResult } from "./types.js";

/**
 * P2PD's `load_nat` for an interface: classify and return the NAT dict. When the answer is `unknown` or
 * the test fails, it keeps P2PD's default (port-restricted cone, random delta) so callers can go on; the
 * raw result (or error) is returned alongside for logging.
 */
export async function loadNat(
  options: DetectNatOptions,
): Promise<{ nat: NatInfo; result?: NatResult; error?: Error }> {
  try {
    const result = await detectNat(options);
    if (result.type === "unknown") return { nat: natInfo(), result };
    return { nat: natInfo(result.type, result.delta), result };
  } catch (err) {
    if (options.signal?.aborted) throw err;
    return { nat: natInfo(), error: err as Error };
  }
}
