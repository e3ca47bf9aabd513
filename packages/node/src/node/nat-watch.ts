import type { NodeInterface } from "../interfaces.js";
import { stunNatTest } from "../nat-test.js";
import type { Identity } from "./identity.js";
import type { StartNodeOptions } from "./types.js";

export type NatTest = NonNullable<StartNodeOptions["natTest"]>;

/** The NAT test to run: the user's, else a STUN one (cached per network) when STUN servers are set. */
export function natTestFor(o: StartNodeOptions, log: (line: string) => void): NatTest | undefined {
  if (o.natTest) return o.natTest;
  if (!o.stun?.length) return undefined;
  return stunNatTest({ stun: o.stun, ...(o.natCache ? { cacheDir: o.natCache } : {}), log });
}

/**
 * Merges a NAT test result into an interface. A port mapping beats the NAT test: the node port
 * is reachable whatever the NAT does, so a mapped interface keeps its external IP and type 1.
 */
export function mergeNat(cur: NodeInterface, update: Partial<NodeInterface>): NodeInterface {
  return cur.mapped
    ? {
        ...cur,
        ...update,
        ext4: cur.ext4,
        nat: { type: 1, delta: update.nat?.delta ?? { type: 0, value: 0 } },
      }
    : { ...cur, ...update };
}

/** Tests every interface's NAT; `onChange` runs when a result changed our address. */
export function watchNat(
  identity: Identity,
  natTest: NatTest,
  signal: AbortSignal,
  onChange: () => void,
): Promise<void>[] {
  return identity.interfaces.map(async (iface, i) => {
    const update = await natTest(iface, { signal });
    if (signal.aborted) return;
    if (identity.update(i, (cur) => mergeNat(cur, update))) onChange();
  });
}

/** Waits for `tasks` at most `ms` (the rest go on in the background). */
export async function settleWithin(tasks: Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(tasks),
    new Promise<void>((r) => {
      timer = setTimeout(r, ms);
    }),
  ]);
  clearTimeout(timer);
}
