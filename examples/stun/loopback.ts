// Start an RFC 5780 STUN server on two loopback IPs and ask it for our mapped address.
import { getMappedAddress, StunServer } from "@p2pd/stun";

export default async function main(signal: AbortSignal): Promise<void> {
  // Port 0 = any free port; 127.0.0.2 is on Linux's loopback without any setup.
  const server = new StunServer({ ips: ["127.0.0.1", "127.0.0.2"], port: 0, altPort: 0 });
  await server.listen({ signal });
  try {
    const r = await getMappedAddress(server.primary, { localAddress: "127.0.0.1", signal });
    console.log(`mapped ${r.mapped.host}:${r.mapped.port}, rtt ${r.rtt.toFixed(2)} ms`);
    console.log(`server's other address: ${r.otherAddress?.host}:${r.otherAddress?.port}`);

    const tcp = await getMappedAddress(server.primary, { protocol: "tcp", signal });
    console.log(`over TCP: ${tcp.mapped.host}:${tcp.mapped.port}`);
  } finally {
    await server.close();
  }
}
