// Linking two pipes relays messages both ways (P2PD's add_pipe on both pipes).
import { link, pipeOpen } from "@p2pd/pipe";

export default async function main(signal: AbortSignal): Promise<void> {
  // A UDP service that answers in upper case.
  const service = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, {
    onMessage: (m) => m.pipe.send(m.data.toString().toUpperCase(), m.from),
  });
  // A TCP front door: each TCP client is linked to its own UDP pipe towards the service.
  const front = await pipeOpen("tcp", { host: "127.0.0.1" }, undefined, {
    onConnection: async (child) => {
      const upstream = await pipeOpen("udp", { host: "127.0.0.1" }, service.local, { signal });
      link(child, upstream);
      child.onEnd(() => upstream.close());
      // Messages are relayed from now on (earlier ones would only sit in the child's queue).
      await child.send("ready");
    },
  });

  const client = await pipeOpen("tcp", undefined, front.local, { signal });
  console.log((await client.recv({ signal })).toString()); // ready
  await client.send("relayed over udp");
  console.log((await client.recv({ signal })).toString()); // RELAYED OVER UDP

  await client.close();
  await front.close();
  await service.close();
}
