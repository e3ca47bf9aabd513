import type { P2PAddress } from "../address.js";
import { candidates, reachable } from "./candidates.js";
import { dialFirst } from "./dial.js";
import type { Strategy, StrategyContext } from "./strategy.js";

/** Direct connect: TCP to the peer's listen port (open host, port-forwarded, or same LAN). */
export const direct: Strategy = {
  name: "direct",
  timeoutMs: 4000,
  // Racing: start the next strategy after this long (a TCP connect: ~2.5 RTT + 100 ms of a far path).
  staggerMs: 250,
  canTry(local: P2PAddress, remote: P2PAddress) {
    return candidates(local, remote).some((c) => reachable(c, "remote"));
  },
  async run(ctx: StrategyContext) {
    const cands = ctx.candidates.filter((c) => reachable(c, "remote"));
    const { socket, candidate } = await dialFirst(cands, ctx.signal);
    ctx.log(`direct: connected to ${candidate.host}:${candidate.port}`);
    const pipe = ctx.wrap(socket);
    await pipe.send(`ID ${ctx.pipeId}`);
    return pipe;
  },
};
