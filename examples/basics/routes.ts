// How NIC addresses group into routes (the Python docs' "Example 1"), with a scripted lookup.
import { buildRoutes, type ExternalIpResolver } from "@p2pd/netifaces";

// What a STUN server would report when asked from each local address.
const seenFrom: Record<string, string> = {
  "192.168.0.20": "1.3.3.7", // private: NATed
  "193.168.0.1": "1.3.3.7", // public-looking block, NATed too
  "7.7.7.7": "1.3.3.7",
  "8.8.0.1": "8.8.0.1", // a routed public block: seen as itself
};

export default async function main(signal: AbortSignal): Promise<void> {
  const resolveExternalIp: ExternalIpResolver = async ({ localAddress }) => {
    const ip = seenFrom[localAddress];
    if (!ip) throw new Error(`no answer for ${localAddress}`);
    return ip;
  };
  const { routes } = await buildRoutes({
    family: 4,
    addresses: [
      { family: 4, address: "192.168.0.20", prefix: 24 },
      { family: 4, address: "193.168.0.0", prefix: 16 },
      { family: 4, address: "7.7.7.7", prefix: 32 },
      { family: 4, address: "8.8.0.0", prefix: 16 },
    ],
    resolveExternalIp,
    signal,
  });
  for (const r of routes) console.log(String(r));
  // [192.168.0.20, 193.168.0.0/16, 7.7.7.7] -> [1.3.3.7]   (the default route comes first)
  // [8.8.0.0/16] -> [8.8.0.0/16]
}
