// Ask for a port mapping where no gateway answers: a typed error comes back quickly, no hang.
// The "gateway" is 127.0.0.1 so nothing leaves this machine; on a real LAN, leave both
// `gateway` and `ssdpAddresses` out (the default route and the SSDP multicast group are used).
import { createPortMapper, PortMapError } from "@p2pd/nat";

export default async function main(signal: AbortSignal): Promise<void> {
  const mapper = createPortMapper({
    signal,
    gateway: "127.0.0.1",
    ssdpAddresses: ["127.0.0.1"],
    discoveryTimeoutMs: 300,
    timeoutMs: 500,
  });
  try {
    const m = await mapper.add({ port: 4000, proto: "tcp", lifetime: 600 });
    console.log(`${m.method}: ${m.external.ip}:${m.external.port} (reachable: ${m.reachable})`);
  } catch (e) {
    if (!(e instanceof PortMapError)) throw e;
    console.log(`no port mapping here: ${e.code}`); // ERR_PORTMAP_NO_GATEWAY
  } finally {
    await mapper.close();
  }
}
