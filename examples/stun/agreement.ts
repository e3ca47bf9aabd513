// Never trust one server: ask several in parallel and keep the IP that at least two report.
import { getExternalAddress, resolveExternalIp, StunServer } from "@p2pd/stun";

export default async function main(signal: AbortSignal): Promise<void> {
  const servers = await Promise.all(
    [0, 1, 2].map(() =>
      new StunServer({ ips: ["127.0.0.1"], port: 0, protocols: ["udp"] }).listen({ signal }),
    ),
  );
  try {
    const list = servers.map((s) => s.primary);
    const r = await getExternalAddress(list, { minAgree: 2, localAddress: "127.0.0.1", signal });
    console.log(`external IP ${r.ip}: agreed by ${r.agreed.map((a) => a.server).join(", ")}`);
    for (const a of r.agreed) console.log(`  ${a.server} rtt ${a.rtt?.toFixed(2)} ms`);
    if (r.disagreed.length > 0)
      console.log(`  disagreeing: ${r.disagreed.map((d) => d.server).join(", ")}`);

    // The same, shaped as the hook @p2pd/netifaces takes.
    console.log(await resolveExternalIp("127.0.0.1", { servers: list, signal }));
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}
