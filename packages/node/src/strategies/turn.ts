import { P2pdNodeError } from "../errors.js";
import type { TurnServerConfig } from "../node/types.js";
import { ReliableUdpStream, sessionFromToken, TurnClient, turnLink } from "../traversal/index.js";
import { hostPortField, parseServer } from "./signal-fields.js";
import type { ResponderContext, SignalMessage, Strategy, StrategyContext } from "./strategy.js";

async function allocate(cfg: TurnServerConfig, signal: AbortSignal, log: (l: string) => void) {
  if (!cfg.username || !cfg.password)
    throw new P2pdNodeError("ERR_TURN_CONFIG", "TURN needs a username and a password");
  const client = await TurnClient.allocate({
    server: parseServer(cfg.url),
    username: cfg.username,
    password: cfg.password,
    transport: /[?&]transport=tcp/.test(cfg.url) ? "tcp" : "udp",
    signal,
    log,
  });
  return client;
}

/**
 * Relay through TURN (opt-in, as in P2PD): each side allocates on its first configured server,
 * permits the other's relayed address, and runs a ReliableUdpStream relay to relay.
 * Messages: TURN_OFFER {relay} -> TURN_ANSWER {relay} (or {error}).
 */
export function turnStrategy(
  servers: TurnServerConfig[],
  opts: { strangers?: boolean } = {},
): Strategy {
  for (const s of servers) {
    // Our TURN client speaks UDP/TCP only: a turns: URL would silently run in plaintext.
    if (/^turns:/i.test(s.url))
      throw new P2pdNodeError(
        "ERR_TURN_CONFIG",
        `${s.url}: turns: (TURN over TLS) is not supported; refused rather than used in plaintext`,
      );
  }
  return {
    name: "turn",
    timeoutMs: 20_000,
    answers: ["TURN_OFFER"],
    canTry: (_local, remote) => servers.length > 0 && remote.keys !== undefined,
    async run(ctx: StrategyContext) {
      const cfg = servers[0];
      if (!cfg) throw new P2pdNodeError("ERR_TURN_CONFIG", "no TURN server configured");
      const client = await allocate(cfg, ctx.signal, ctx.log);
      let handedOver = false;
      try {
        const answer = ctx.waitFor("TURN_ANSWER");
        // It may reject (abort, lost race) while we still await the send: never unhandled.
        answer.catch(() => {});
        await ctx.send("TURN_OFFER", { relay: client.relayed });
        const ans = await answer;
        if (typeof ans.error === "string")
          throw new P2pdNodeError("ERR_PEER_REFUSED", `peer: ${ans.error}`);
        const peer = hostPortField(ans.relay, "relay address");
        await client.createPermission(peer.host, { signal: ctx.signal });
        ctx.log(
          `turn: ${client.relayed.host}:${client.relayed.port} <-> ${peer.host}:${peer.port}`,
        );
        const stream = new ReliableUdpStream(turnLink(client, peer), {
          session: sessionFromToken(ctx.pipeId),
        });
        handedOver = true; // the stream closes the TURN client
        const pipe = ctx.wrap(stream);
        await pipe.send(`ID ${ctx.pipeId}`);
        return pipe;
      } finally {
        if (!handedOver) await client.close();
      }
    },
    async respond(msg: SignalMessage, ctx: ResponderContext) {
      const peer = hostPortField(msg.relay, "relay address");
      const cfg = servers[0];
      if (!cfg) {
        await ctx.send("TURN_ANSWER", { error: "no TURN server configured" });
        return;
      }
      // An allocation spends our credentials and relay quota: only for peers we chose to talk
      // to (we signaled them lately), unless the node opted in for anyone.
      if (ctx.known === false && !opts.strangers) {
        await ctx.send("TURN_ANSWER", { error: "TURN is only for peers this node talks to" });
        return;
      }
      let client: TurnClient;
      try {
        client = await allocate(cfg, ctx.signal, ctx.log);
        // Permit the peer before answering, so its first packets are not dropped.
        await client.createPermission(peer.host, { signal: ctx.signal });
      } catch (err) {
        await ctx.send("TURN_ANSWER", { error: `TURN: ${(err as Error).message}` });
        throw err;
      }
      try {
        await ctx.send("TURN_ANSWER", { relay: client.relayed });
      } catch (err) {
        await client.close();
        throw err;
      }
      const stream = new ReliableUdpStream(turnLink(client, peer), {
        session: sessionFromToken(msg.pipeId),
      });
      // The offerer's `ID <pipeId>` message makes the node adopt this pipe.
      ctx.wrap(stream);
    },
  };
}
