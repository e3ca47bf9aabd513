// hyperdht (from npm) in the NAT lab, the baseline the connectivity bench compares with.
//   node hyperdht-peer.mjs testnet HOST PORT        -> a 5-node DHT on pub; prints {"ready":true}
//   node hyperdht-peer.mjs serve HOST:PORT          -> prints {"key":hex}; echoes every connection
//   node hyperdht-peer.mjs connect HOST:PORT KEYHEX -> prints {"ok","ms"} or {"error"}
// `ms` is from dht.connect() (both DHT nodes bootstrapped) to the socket's open, like the node's
// connect time (from connect() to the pipe); an echoed hello then proves the connection.
import DHT from "hyperdht";
import createTestnet from "hyperdht/testnet.js";

const [mode, a, b] = process.argv.slice(2);
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const bootstrapOf = (s) => {
  const i = s.lastIndexOf(":");
  return [{ host: s.slice(0, i), port: Number(s.slice(i + 1)) }];
};

if (mode === "testnet") {
  const net = await createTestnet(5, { host: a, port: Number(b) });
  out({ ready: true });
  process.on("SIGTERM", () => net.destroy().then(() => process.exit(0)));
} else if (mode === "serve") {
  const dht = new DHT({ bootstrap: bootstrapOf(a) });
  await dht.fullyBootstrapped();
  const server = dht.createServer((socket) => {
    socket.on("data", (d) => socket.write(d));
    socket.on("error", () => {});
  });
  const keyPair = DHT.keyPair();
  await server.listen(keyPair);
  out({ key: keyPair.publicKey.toString("hex") });
  process.on("SIGTERM", () =>
    server
      .close()
      .then(() => dht.destroy())
      .then(() => process.exit(0)),
  );
} else if (mode === "connect") {
  const dht = new DHT({ bootstrap: bootstrapOf(a) });
  await dht.fullyBootstrapped();
  const t0 = performance.now();
  const result = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ error: "TIMEOUT" }), 20_000);
    const socket = dht.connect(Buffer.from(b, "hex"));
    socket.on("error", (err) => {
      clearTimeout(timer);
      resolve({ error: err.code ?? String(err.message ?? err) });
    });
    let ms = 0;
    socket.on("open", () => {
      ms = Math.round(performance.now() - t0);
      socket.write("lab echo");
    });
    socket.on("data", () => {
      clearTimeout(timer);
      resolve({ ok: true, ms });
      socket.destroy();
    });
  });
  out(result);
  await dht.destroy();
  process.exit(0);
}
