// A Route knows how to bind: here a TCP server and client on loopback through one route.
import { once } from "node:events";
import { connect, createServer } from "node:net";
import { IPRange, Route } from "@p2pd/netifaces";

export default async function main(signal: AbortSignal): Promise<void> {
  const route = new Route({ family: 4, nicIps: [IPRange.from("127.0.0.1")] }).bind(0);
  const server = createServer((s) => s.end("hello over a route\n"));
  const { host, port } = route.nicBind();
  server.listen({ host, port, signal });
  await once(server, "listening");
  const bound = server.address();
  if (typeof bound === "object" && bound) route.setBindPort(bound.port); // remember the real port
  const sock = connect(route.nicBind().port, route.nicBind().host);
  const [reply] = await once(sock, "data", { signal });
  console.log(String(reply).trim(), "from", route.nicBind());
  sock.destroy();
  server.close();
}
