// List every network interface and the default route per family (offline: no packet is sent).
import { defaultRoutes, listInterfaces } from "@p2pd/netifaces";

export default async function main(signal: AbortSignal): Promise<void> {
  const defaults = await defaultRoutes({ signal });
  console.log("default IPv4:", defaults[4] ?? "none");
  console.log("default IPv6:", defaults[6] ?? "none");
  for (const i of await listInterfaces({ signal })) {
    const mark = i.isDefault[4] || i.isDefault[6] ? "*" : " ";
    const ips = i.addresses.map((a) => (a.scopeId ? `${a.address}%${a.scopeId}` : a.address));
    console.log(`${mark} ${i.name} ${i.up ? "up" : "down"} mtu=${i.mtu ?? "?"} ${ips.join(" ")}`);
  }
}
