// Run a node with the REST API on loopback, then drive it with the typed client.
import { once } from "node:events";
import { startNode } from "@p2pd/node";
import { P2pdClient, rest } from "p2pd";

export default async function main(signal: AbortSignal): Promise<void> {
  const node = await startNode({ interfaces: "loopback", signal });
  const server = await rest.RestServer.start({ node, port: 0 });
  try {
    const api = new P2pdClient({ url: server.url });
    const con = await api.open("c1", "self"); // connect to our own node
    console.log("connected by", con.strategy);
    await api.send("c1", "ECHO hello over REST");
    const reply = await api.recv("c1", { timeout: 5 });
    console.log("reply:", reply.data);
    // The same connection as a raw byte stream: what you write reaches the peer.
    const relay = await api.tunnel("c1", { signal });
    relay.write("ECHO hello through the tunnel");
    const [chunk] = await once(relay, "data", { signal });
    console.log("tunnel:", String(chunk));
    relay.destroy();
    await api.close("c1");
  } finally {
    await server.close();
    await node.close();
  }
}
