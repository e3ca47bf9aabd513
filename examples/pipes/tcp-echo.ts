// A TCP echo server and a client, both pipes (P2PD's example_5).
import { type Message, pipeOpen } from "@p2pd/pipe";

export default async function main(signal: AbortSignal): Promise<void> {
  // The message callback gets the sender and the pipe to answer on.
  const server = await pipeOpen("tcp", { host: "127.0.0.1" }, undefined, {
    onMessage: (msg: Message) => msg.pipe.send(msg.data, msg.from),
    signal,
  });
  try {
    // Connect to the server's address (port 0 above picked a free one).
    const client = await pipeOpen("tcp", undefined, server.local, { signal });
    await client.send("test msg.");
    const out = await client.recv({ timeout: 2000, signal });
    console.log(`echoed: ${out.toString()}`);
    await client.close();
  } finally {
    await server.close();
  }
}
