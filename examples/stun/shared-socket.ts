// Run STUN over a UDP socket you already own (as NAT tests and hole punching do), with CHANGE-REQUEST.
import { createSocket } from "node:dgram";
import { createUdpTransport, StunClient, StunServer } from "@p2pd/stun";

export default async function main(signal: AbortSignal): Promise<void> {
  const server = await new StunServer({
    ips: ["127.0.0.1", "127.0.0.2"],
    port: 0,
    altPort: 0,
  }).listen({ signal });
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  socket.on("message", (msg) => {
    // Your own protocol keeps receiving on the same socket; STUN answers are just seen here too.
    void msg;
  });
  const client = new StunClient(createUdpTransport(socket)); // the socket stays yours
  try {
    const plain = await client.binding(server.primary, { signal });
    const changed = await client.binding(server.primary, {
      changeIp: true,
      changePort: true,
      signal,
    });
    console.log(
      `mapped ${plain.mapped.host}:${plain.mapped.port} (socket port ${socket.address().port})`,
    );
    console.log(`change-request answer came from ${changed.from.host}:${changed.from.port}`);
  } finally {
    client.close(); // detaches from the socket; closing it is up to us
    socket.close();
    await server.close();
  }
}
