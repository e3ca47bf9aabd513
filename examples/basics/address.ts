// Addresses (hostname / IPv4 / IPv6 + port) and CIDR maths.
import { Address, IPRange, isPrivateIp, Route } from "@p2pd/netifaces";

export default async function main(signal: AbortSignal): Promise<void> {
  const web = await Address.parse("localhost:8080", { family: 4, signal });
  console.log(web.toString(), web.hostType, "loopback:", web.isLoopback);

  // A link-local destination gets the zone of the route it will be used with.
  const route = new Route({ family: 6, nicIps: [], linkLocals: ["fe80::1"], scopeId: "eth0" });
  const ll = await Address.resolve("fe80::2", 9000, { route, signal });
  console.log(ll.toString(), ll.toEndpoint());

  const lan = IPRange.from("192.168.1.20/24");
  console.log(lan.ip, lan.first, lan.last, lan.size, lan.contains("192.168.1.99"));
  const v6 = IPRange.from("2001:db8::/64");
  console.log(v6.size, v6.at(-1)); // 18446744073709551616n 2001:db8::ffff:ffff:ffff:ffff
  console.log("100.64.0.1 private?", isPrivateIp("100.64.0.1")); // false: CGNAT is not "private"
}
