// The decoders behind the port mapper, on bytes a gateway could send: each returns a value
// or throws a PortMapError with a stable code, whatever the input.
import {
  decodeNatPmpMap,
  judgeExternal,
  type PortMapError,
  parseIgdDescription,
  parseSsdpResponse,
} from "@p2pd/nat";

export default async function main(): Promise<void> {
  const ssdp = parseSsdpResponse(
    new TextEncoder().encode(
      "HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n" +
        "LOCATION: http://192.168.1.1:5000/rootDesc.xml\r\n\r\n",
    ),
  );
  const igd = parseIgdDescription(
    `<root><device><serviceList><service>
       <serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType>
       <controlURL>/ctl/IPConn</controlURL>
     </service></serviceList></device></root>`,
    ssdp.location,
  );
  console.log(igd.connections[0]?.controlUrl); // http://192.168.1.1:5000/ctl/IPConn

  // NAT-PMP answer to a TCP map request: external port 40000 for 3600 s.
  const answer = Uint8Array.from([
    0, 130, 0, 0, 0, 0, 0, 9, 0x0f, 0xa0, 0x9c, 0x40, 0, 0, 0x0e, 0x10,
  ]);
  console.log(decodeNatPmpMap(answer, "tcp")); // { epoch: 9, internalPort: 4000, externalPort: 40000, lifetime: 3600 }

  // A gateway whose own external address is CGNAT cannot make us reachable.
  console.log(judgeExternal("100.64.0.7")); // { reachable: false, reason: "cgnat" }

  try {
    decodeNatPmpMap(answer.subarray(0, 10), "tcp");
  } catch (e) {
    console.log((e as PortMapError).code); // ERR_PORTMAP_BAD_RESPONSE
  }
}
