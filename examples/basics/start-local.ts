// Start the default interface without any external lookup, and round-trip it through JSON.
import { Interface, P2pdNetError } from "@p2pd/netifaces";

export default async function main(signal: AbortSignal): Promise<void> {
  let nic: Interface;
  try {
    nic = await Interface.startLocal(undefined, { signal });
  } catch (e) {
    // A host with no default route and no Ethernet/Wi-Fi link has nothing to start.
    if (e instanceof P2pdNetError && e.code === "ERR_NO_ROUTE") return console.log(e.message);
    throw e;
  }
  console.log(nic.name, nic.type, "stack:", nic.stack, "default v4:", nic.isDefault(4));
  for (const family of nic.supported()) {
    const route = nic.route(family); // a copy of the primary route
    console.log(`IPv${family}`, String(route), "bind:", route.bind(0).nicBind());
  }
  // Serialisable, link-locals included; fromJSON also reads P2PD's Python to_dict shape.
  const copy = Interface.fromJSON(JSON.parse(JSON.stringify(nic)));
  console.log("same after JSON:", JSON.stringify(copy) === JSON.stringify(nic));
}
