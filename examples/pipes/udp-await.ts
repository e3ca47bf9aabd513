// Awaiting a reply on UDP exactly as on TCP, with retries because UDP may lose datagrams
// (P2PD's example_6, against a local responder instead of a public STUN server).
import { isPipeError, pipeOpen } from "@p2pd/pipe";

export default async function main(signal: AbortSignal): Promise<void> {
  // A UDP server has no catch-all queue; it answers from a callback instead.
  const responder = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, {
    onMessage: (m) => m.pipe.send(`pong ${m.data.toString()}`, m.from),
  });
  // A UDP pipe opened with a destination sends there by default and queues every reply.
  const pipe = await pipeOpen("udp", { host: "127.0.0.1" }, responder.local);
  try {
    for (let attempt = 1; attempt <= 3; attempt++) {
      await pipe.send(`ping ${attempt}`);
      try {
        const reply = await pipe.recvFull({ timeout: 500, signal });
        console.log(`${reply.data.toString()} from ${reply.from.host}:${reply.from.port}`);
        break;
      } catch (e) {
        if (!isPipeError(e, "ERR_RECV_TIMEOUT")) throw e;
      }
    }
  } finally {
    await pipe.close();
    await responder.close();
  }
}
