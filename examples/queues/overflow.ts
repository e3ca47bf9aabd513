// Queues are bounded: choose what happens when nobody reads fast enough.
import { isPipeError, pipeOpen } from "@p2pd/pipe";

export default async function main(signal: AbortSignal): Promise<void> {
  const server = await pipeOpen("udp", { host: "127.0.0.1" });
  const client = await pipeOpen("udp", { host: "127.0.0.1" }, server.local);

  const latest = server.subscribe(["^tick"], { maxQueue: 2, overflow: "drop-oldest" });
  const strict = server.subscribe(["^tick"], { maxQueue: 2, overflow: "error" }); // same key: same queue
  console.log("same subscription:", latest === strict);
  const alarms = server.subscribe(["^alarm"], { maxQueue: 2, overflow: "error" });

  let seen = 0;
  const all = new Promise<void>((resolve) => server.onMessage(() => ++seen === 6 && resolve()));
  for (const m of ["tick 1", "tick 2", "tick 3", "alarm 1", "alarm 2", "alarm 3"])
    await client.send(m);
  await all;

  // drop-oldest kept the two newest ticks.
  console.log(
    (await server.recv({ sub: ["^tick"], signal })).toString(),
    (await server.recv({ sub: ["^tick"], signal })).toString(),
  );
  // "error" tells the reader once that messages were lost, then goes on.
  try {
    await server.recv({ sub: ["^alarm"], signal });
  } catch (e) {
    if (!isPipeError(e, "ERR_QUEUE_FULL")) throw e;
    console.log(`alarms lost: ${alarms.dropped}`);
  }
  console.log((await server.recv({ sub: ["^alarm"], signal })).toString());

  await server.close();
  await client.close();
}
