// ../../../../tmp/t3.ts
import IRC from "irc-framework";

var c = new IRC.Client({
  nick: "g1n6m85l",
  username: "u1n6m85l",
  auto_reconnect: false,
  version: null,
});
c.on("raw", (e) => console.log(e.from_server ? "<<" : ">>", e.line));
c.on("registered", () => {
  console.log("REGISTERED");
  c.quit("x");
});
c.connect({ host: "127.0.0.1", port: 16767 });
setTimeout(() => process.exit(0), 4e3);
