import type { P2PAddress } from "../address.js";
import { candidates, reachable } from "./candidates.js";
import { dialFirst } from "./dial.js";
import { refuseTarget } from "./offer-target.js";
import type { ResponderContext, SignalMessage, Strategy, StrategyContext } from "./strategy.js";

/**
 * Reverse connect: ask the peer over signaling (`CONNECT`, the reference's P2P_DIRECT) to dial
 * us; works when we are reachable and it is not. The inbound connection proves itself with
 * `ID <pipeId>`, a 128-bit secret only sent inside the encrypted message.
 */
export const reverse: Strategy = {
  name: "reverse",
  timeoutMs: 10_000,
  // Racing: start the next strategy after this long (a signaling trip and a dial back).
  staggerMs: 500,
  answers: ["CONNECT"],
  canTry(local: P2PAddress, remote: P2PAddress) {
    // Signaling needs the peer's keys (a legacy 4-part address has none).
    return (
      remote.keys !== undefined && candidates(local, remote).some((c) => reachable(c, "local"))
    );
  },
  async run(ctx: StrategyContext) {
    const inbound = ctx.waitInbound({ signal: ctx.signal });
    // It may reject (abort, lost race) while we still await the send: never unhandled.
    inbound.catch(() => {});
    await ctx.send("CONNECT", { proto: "tcp" });
    return inbound;
  },
  async respond(msg: SignalMessage, ctx: ResponderContext) {
    // Only the sender's own addresses (no loopback/LAN unless it really shares ours): no reflection.
    const cands = ctx.candidates.filter(
      (c) => reachable(c, "remote") && refuseTarget(c.host, [c]) === undefined,
    );
    const { socket, candidate } = await dialFirst(cands, ctx.signal);
    ctx.log(`reverse: dialled back ${candidate.host}:${candidate.port}`);
    const pipe = ctx.wrap(socket);
    await pipe.send(`ID ${msg.pipeId}`);
    ctx.adopt(pipe);
  },
};
