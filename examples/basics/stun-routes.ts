// Interface.start() with a real external-address lookup: a STUN server on loopback stands in
// for the public ones, so it reports each NIC address as it sees it.
import { defaultRoutes, Interface } from "@p2pd/netifaces";
import { createExternalIpResolver, StunServer } from "@p2pd/stun";

export default async function main(signal: AbortSignal): Promise<void> {
  if (!(await defaultRoutes({ signal }))[4]) return console.log("no IPv4 default route here");
  const server = await new StunServer({ ips: ["127.0.0.1"], port: 0 }).listen({ signal });
  try {
    const resolveExternalIp = createExternalIpResolver({
      servers: [`127.0.0.1:${server.primary.port}`],
      minAgree: 1,
    });
    const nic = await Interface.start(4, { resolveExternalIp, timeoutMs: 3000, signal });
    for (const r of nic.routes(4)) console.log(String(r), "external:", r.ext());
  } finally {
    await server.close();
  }
}
