// Two P2P nodes on loopback, signaling through an in-process MQTT broker: connect, ECHO, close.
import { echo, startBroker, startNode } from "@p2pd/node";

export default async function main(signal: AbortSignal): Promise<void> {
  const broker = await startBroker({ signal }); // aedes on 127.0.0.1, any free port
  const alice = await startNode({ interfaces: "loopback", mqtt: broker.url, signal });
  const bob = await startNode({ interfaces: "loopback", mqtt: broker.url, signal });
  try {
    console.log("alice is", alice.address);
    alice.onMessage((data) => console.log("alice got:", data.toString()));

    // Bob knows Alice's address (text); "reverse" makes Alice dial Bob after an encrypted signal.
    for (const strategy of ["direct", "reverse"]) {
      const { pipe, timings } = await bob.connect(alice.address, {
        strategies: [strategy],
        signal,
      });
      const reply = await echo(pipe, `hello via ${strategy}`, { signal });
      console.log(`${strategy}: ${timings.totalMs.toFixed(1)} ms, reply "${reply.toString()}"`);
      await pipe.close();
    }
  } finally {
    await bob.close();
    await alice.close();
    await broker.close();
  }
}
