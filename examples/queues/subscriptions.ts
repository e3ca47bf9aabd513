// Sorting one socket's messages into queues by message and sender regexes (P2PD's queues page).
import { pipeOpen } from "@p2pd/pipe";

export default async function main(signal: AbortSignal): Promise<void> {
  const server = await pipeOpen("udp", { host: "127.0.0.1" });
  const cat = await pipeOpen("udp", { host: "127.0.0.1" }, server.local);
  const dog = await pipeOpen("udp", { host: "127.0.0.1" }, server.local);

  // Python-style tuple [messageRegex, addressRegex]; the address is "ip:port".
  const meows = [/meow/, /^127\.0\.0\.1:\d+$/] as const;
  server.subscribe(meows);
  // Object form; only messages from the dog's port.
  const fromDog = { addr: `:${dog.local.port}$` };
  server.subscribe(fromDog);

  await cat.send("meow meow");
  await dog.send("woof");
  await dog.send("a dog saying meow");

  // Every matching queue gets its own copy: the last message is in both.
  console.log("meows:", (await server.recv({ sub: meows, signal })).toString());
  console.log("meows:", (await server.recv({ sub: meows, signal })).toString());
  const first = await server.recvFull({ sub: fromDog, signal });
  console.log(`dog (${first.from.port}):`, first.data.toString());
  console.log("dog:", (await server.recv({ sub: fromDog, signal })).toString());

  await Promise.all([server.close(), cat.close(), dog.close()]);
}
