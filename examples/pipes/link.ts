// Linking two pipes relays messages both ways (P2PD's add_pipe on both pipes).
import { link, pipeOpen } from "@p2pd/pipe";

export default async function main(): Promise<void> {
  // A UDP service that answers in upper case.
  const service = await pipeOpen("udp", { host: "127.0.0.1" }, undefined, {
    onMessage: (m) => m.pipe.send(m.data.toString().toUpperCase(), m.from),
  });
  // A TCP front door: each TCP client is linked to its own UDP pipe towards the service.
  const front = await pipeOpen("tcp", { host: "127.0.0.1" }, undefined, {
    onConnection: async (child) => {
      const upstream = await pipeOpen("udp", { host: "127.0.0.1" }, service.local);
      link(child, upstream);
      child.onEnd(() => upstream.close());
    },
  });

  const client = await pipeOpen("tcp", undefined, front.local);
  await client.send("relayed over udp");
  console.log((await client.recv()).toString());

  await client.close();
  await front.close();
  await service.close();
}
