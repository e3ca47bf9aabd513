// A TCP server yields one pipe per client: accept() them or iterate with for await.
import { pipeOpen, type TcpPipe } from "@p2pd/pipe";

async function serve(child: TcpPipe): Promise<void> {
  // Each message received on a child pipe, until the client hangs up.
  for await (const msg of child) await child.send(msg.data.toString().toUpperCase());
}

export default async function main(signal: AbortSignal): Promise<void> {
  const server = await pipeOpen("tcp", { host: "::1" }); // IPv6 loopback
  const sessions: Promise<void>[] = [];
  const acceptLoop = (async () => {
    for await (const child of server.clients({ signal })) sessions.push(serve(child));
  })();

  for (const name of ["alice", "bob"]) {
    const client = await pipeOpen("tcp", undefined, server.local);
    // Framing keeps messages apart even when writes coalesce on the wire.
    await client.send(`hello from ${name}`);
    await client.send("bye");
    console.log((await client.recv()).toString(), "/", (await client.recv()).toString());
    await client.close();
  }
  await Promise.all(sessions);
  await server.close(); // ends the accept loop
  await acceptLoop;
}
