// Profiling aid for the secure data path: one direction, one message size, secure only, so
// `node --cpu-prof bench/secure-profile.mjs 65536 4000` profiles the sender (the receiver, a
// child, gets the same execArgv). Not part of `bench`.
import { fork } from "node:child_process";
import { once } from "node:events";
import { connect, createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { wrapSocket, wrapStream } from "@p2pd/pipe";
import { deriveKeys, SecureStream, secureIdentity } from "../dist/index.js";

const pipeOpts = { framing: "u32-length", maxMessageBytes: 1 << 20, autoSubscribe: false };
const bobKeys = deriveKeys(Buffer.alloc(32, 2));
const secure = process.env.P2PD_PLAIN !== "1";
const [size, count] = process.argv
  .slice(2)
  .filter((a) => a !== "receiver")
  .map(Number);
if (process.argv[2] === "receiver") {
  const srv = createServer({ noDelay: true }, (s) => {
    const ss = secure
      ? new SecureStream(s, { identity: secureIdentity(bobKeys), initiator: false })
      : undefined;
    ss?.on("error", (e) => console.error("receiver:", e));
    const rx = ss ? wrapStream(ss, pipeOpts) : wrapSocket(s, pipeOpts);
    let n = 0;
    rx.onMessage(() => {
      if (++n === count) process.send({ done: true }, () => process.exit(0));
    });
  });
  srv.listen(0, "127.0.0.1", () => process.send({ port: srv.address().port }));
  process.on("disconnect", () => process.exit(0));
} else {
  const child = fork(fileURLToPath(import.meta.url), ["receiver", String(size), String(count)]);
  const port = await new Promise((r) => child.once("message", (m) => r(m.port)));
  const c = connect({ port, host: "127.0.0.1", noDelay: true });
  await once(c, "connect");
  let tx;
  if (!secure) tx = wrapSocket(c, pipeOpts);
  else {
    const alice = secureIdentity(deriveKeys(Buffer.alloc(32, 1)));
    const expect = { nodeId: bobKeys.nodeId, x25519: bobKeys.x25519.publicKey };
    const cipher = process.env.P2PD_CIPHER; // AESGCM (default) or ChaChaPoly
    const a = new SecureStream(c, { identity: alice, initiator: true, expect, cipher });
    await a.ready;
    tx = wrapStream(a, pipeOpts);
  }
  const done = new Promise((r) => child.once("message", r));
  const msg = Buffer.alloc(size, 0x61);
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < count; i++) await tx.send(msg);
  await done;
  const u = process.cpuUsage(cpu0);
  const mb = (size * count) / 1e6;
  console.log(
    `${secure ? "secure" : "plain"} ${size} B: ${(mb / ((performance.now() - t) / 1000)).toFixed(0)} MB/s, sender ${((u.user + u.system) / mb).toFixed(0)} us CPU/MB`,
  );
  await tx.close({ reset: true });
}
