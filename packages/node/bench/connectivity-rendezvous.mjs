// Tiny rendezvous for the connectivity lab: TCP, one JSON object per line.
//   -> {"op":"join","room":R,"role":"A"|"B"}   then any {"op":"msg",...} is relayed to the other member
//   -> {"op":"time"}                           <- {"op":"time","t":epochMs}
// The node's real signaling (MQTT) is not used here on purpose: these scripts test the traversal
// primitives alone. Usage: node connectivity-rendezvous.mjs <host> <port>
import net from "node:net";

const [host = "0.0.0.0", port = "5600"] = process.argv.slice(2);
const rooms = new Map();

const server = net.createServer((sock) => {
  sock.setNoDelay(true);
  let buf = "";
  let room;
  let role;
  sock.on("data", (d) => {
    buf += d;
    if (buf.length > 1 << 20) return sock.destroy();
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let m;
      try {
        m = JSON.parse(line);
      } catch {
        continue;
      }
      if (m.op === "time") sock.write(`${JSON.stringify({ op: "time", t: Date.now() })}\n`);
      else if (m.op === "join" && typeof m.room === "string") {
        room = m.room;
        role = m.role === "B" ? "B" : "A";
        const r = rooms.get(room) ?? { A: undefined, B: undefined, queued: { A: [], B: [] } };
        rooms.set(room, r);
        r[role] = sock;
        // Deliver what the peer sent before we joined.
        for (const q of r.queued[role].splice(0)) sock.write(q);
      } else if (m.op === "msg" && room) {
        const r = rooms.get(room);
        const other = role === "A" ? "B" : "A";
        const out = `${line}\n`;
        if (r?.[other] && !r[other].destroyed) r[other].write(out);
        else r?.queued[other].push(out);
      }
    }
  });
  sock.on("error", () => {});
  sock.on("close", () => {
    const r = room && rooms.get(room);
    if (r && r[role] === sock) {
      r[role] = undefined;
      if (!r.A && !r.B) rooms.delete(room);
    }
  });
});
server.listen(Number(port), host, () => console.log(`rendezvous on ${host}:${port}`));
process.on("SIGTERM", () => process.exit(0));
