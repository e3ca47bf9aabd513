// Our StunServer in its own process, so the load generator does not share its event loop (as with coturn).
// argv[2]: worker processes (StunServer `workers`); argv[3]: another build's dist/index.js (a baseline).
const { StunServer } = await import(process.argv[3] ?? "../dist/index.js");

const server = await new StunServer({
  ips: ["127.0.0.1"],
  port: 0,
  protocols: ["udp"],
  workers: Number(process.argv[2] ?? 0),
}).listen();
process.send?.({ port: server.primary.port });
process.on("message", async (m) => {
  if (m === "stop") {
    await server.close();
    process.exit(0);
  }
});
