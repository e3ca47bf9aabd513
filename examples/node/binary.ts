// Node pipes are binary-safe (4-byte length frames): any bytes, newlines and empty messages included.
import { echo, startBroker, startNode } from "@p2pd/node";

export default async function main(signal: AbortSignal): Promise<void> {
  const broker = await startBroker({ signal });
  const alice = await startNode({ interfaces: "loopback", mqtt: broker.url, signal });
  const bob = await startNode({ interfaces: "loopback", mqtt: broker.url, signal });
  try {
    // Alice answers every user message with its length and first byte (onMessage also sees the
    // node protocol's own ECHO and ID messages: skip those).
    alice.onMessage((data, pipe) => {
      if (/^(ECHO|ID) /.test(data.subarray(0, 5).toString("latin1"))) return;
      pipe.send(`got ${data.length} bytes, first 0x${(data[0] ?? 0).toString(16)}`).catch(() => {});
    });
    const { pipe, strategy } = await bob.connect(alice.address, { signal });
    const blob = Uint8Array.from([0x0a, 0x0d, 0x00, 0xff, 0x0a]); // "\n\r\0\xff\n"
    await pipe.send(blob, undefined, { signal });
    console.log(`${strategy}:`, (await pipe.recv({ signal })).toString());
    const back = await echo(pipe, blob, { signal });
    console.log("ECHO kept every byte:", Buffer.from(blob).equals(back));
    await pipe.close();
  } finally {
    await bob.close();
    await alice.close();
    await broker.close();
  }
}
