// Classify the "NAT" in front of loopback: an RFC 5780 STUN server on 127.0.0.1 + 127.0.0.2 sees our own
// address and its CHANGE-REQUEST answers all get through, so the answer is open-internet, delta equal.
import { detectNat } from "@p2pd/nat";
import { StunServer } from "@p2pd/stun";

export default async function main(signal: AbortSignal): Promise<void> {
  const server = new StunServer({ ips: ["127.0.0.1", "127.0.0.2"], port: 0, altPort: 0 });
  await server.listen({ signal });
  try {
    const nat = await detectNat({
      servers: [`127.0.0.1:${server.primary.port}`],
      signal,
      progress: (line) => console.log(`  ${line}`),
    });
    console.log(`type ${nat.type}, delta ${nat.delta.kind}, ${nat.ms} ms`);
    console.log(`mapped: ${nat.mapped.map((m) => `${m.host}:${m.port}`).join(", ")}`);
    if (nat.type !== "open-internet") throw new Error(`expected open-internet, got ${nat.type}`);
  } finally {
    await server.close();
  }
}
