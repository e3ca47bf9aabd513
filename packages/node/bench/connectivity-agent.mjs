// One side of a connectivity trial, run inside a lab namespace:
//   ip netns exec tr-a1 node connectivity-agent.mjs '<json config>'
// It meets its peer at the rendezvous (connectivity-rendezvous.mjs on the lab's pub host), then
// tries one strategy (or the planned list, "all") with the traversal primitives, proves the pipe
// by exchanging a hello both ways, and prints one JSON line: {ok, strategy, connectMs, totalMs, ...}.
import dgram from "node:dgram";
import net from "node:net";

const cfg = JSON.parse(process.argv[2] ?? "{}");
// A stray socket error must become a reported failure, not a silent crash.
process.on("uncaughtException", (err) => {
  console.log(
    JSON.stringify({
      role: cfg.role,
      ok: false,
      tried: [],
      error: `uncaught: ${err?.code ?? ""} ${err?.message ?? err}`,
    }),
  );
  process.exit(1);
});
const T = await import(cfg.lib);
const me = cfg.role; // "A" dials first; B answers
const peerRole = me === "A" ? "B" : "A";
const WINDOW = { "tcp-punch": 3000, "udp-punch": 3000, turn: 5000, direct: 2000, reverse: 2000 };
const log = (...a) => {
  if (cfg.debug) console.error(`[${me}]`, ...a);
};

// ---------------------------------------------------------------- rendezvous
const rdv = net.connect(cfg.rdv.port, cfg.rdv.host);
rdv.setNoDelay(true);
await new Promise((r, j) => {
  rdv.once("connect", r);
  rdv.once("error", j);
});
rdv.on("error", () => {});
const inbox = [];
const waiters = [];
let rbuf = "";
rdv.on("data", (d) => {
  rbuf += d;
  for (let i = rbuf.indexOf("\n"); i >= 0; i = rbuf.indexOf("\n")) {
    const m = JSON.parse(rbuf.slice(0, i));
    rbuf = rbuf.slice(i + 1);
    if (m.kind === "ping") {
      post({ kind: "pong", id: m.id, t: Date.now() });
      continue;
    }
    const w = waiters.findIndex((x) => x.match(m));
    if (w >= 0) waiters.splice(w, 1)[0].resolve(m);
    else inbox.push(m);
  }
});
function post(m) {
  rdv.write(`${JSON.stringify({ op: "msg", ...m })}\n`);
}
function next(kind, step, timeoutMs = 8000) {
  const match = (m) => m.kind === kind && (step === undefined || m.step === step);
  const i = inbox.findIndex(match);
  if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
  return new Promise((resolve, reject) => {
    const w = {
      match,
      resolve: (m) => {
        clearTimeout(t);
        resolve(m);
      },
    };
    const t = setTimeout(() => {
      waiters.splice(waiters.indexOf(w), 1);
      reject(new Error(`peer silent (${kind} ${step})`));
    }, timeoutMs);
    waiters.push(w);
  });
}
rdv.write(`${JSON.stringify({ op: "join", room: cfg.room, role: me })}\n`);

let pingId = 0;
const ping = async () => {
  const id = ++pingId;
  post({ kind: "ping", id });
  return (await next("pong", undefined, 2000)).t;
};

// ---------------------------------------------------------------- helpers
const stun = cfg.stun;
function lineReader(sock) {
  let b = "";
  return (ms) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no hello")), ms);
      const on = (d) => {
        b += d;
        const i = b.indexOf("\n");
        if (i >= 0) {
          clearTimeout(t);
          sock.off("data", on);
          resolve(b.slice(0, i));
        }
      };
      sock.on("data", on);
    });
}
async function proveTcp(sock) {
  const read = lineReader(sock);
  sock.write(`hello ${me}\n`);
  const got = await read(3000);
  if (got !== `hello ${peerRole}`) throw new Error(`bad hello ${got}`);
  sock.destroy();
}
/** Set by `cfg.idleMs`: whether B's message after the idle time reached A. */
let late;
async function proveStream(stream) {
  await stream.send(`hello ${me}`);
  const got = (await stream.recv({ timeoutMs: 3000 })).toString();
  if (got !== `hello ${peerRole}`) throw new Error(`bad hello ${got}`);
  if (cfg.idleMs) {
    // Keep-alive check: both stay silent (but for the stream's own keep-alives), then B speaks
    // first, so only a NAT mapping still open on A's side lets it through.
    await new Promise((r) => setTimeout(r, cfg.idleMs));
    if (me === "B") await stream.send("late B");
    else
      late = await stream
        .recv({ timeoutMs: 3000 })
        .then((m) => m.toString() === "late B")
        .catch(() => false);
    // B waits until A had its chance before closing (a FIN would not count).
    await new Promise((r) => setTimeout(r, me === "B" ? 3500 : 0));
  }
  await stream.close();
}
/** Shared meeting time: A measures the offset over the rendezvous, B adopts A's clock. */
async function meet(step) {
  if (me === "A") {
    const est = await T.estimateClockOffset(ping, { samples: 3, perPingTimeoutMs: 1500 });
    const at = T.meetingTime(est.rttMs, { floorMs: 150 });
    post({ kind: "at", step, at, offsetMs: est.offsetMs });
    return { at, clock: Date.now };
  }
  const m = await next("at", step);
  return { at: m.at, clock: () => Date.now() - m.offsetMs };
}

// ---------------------------------------------------------------- hello: NAT info
post({ kind: "hello", nat: cfg.nat, lanIp: cfg.lanIp });
const peerHello = await next("hello");
let myPublicIp;

function advertised(role, mappedPort) {
  if (role.advertise === "predicted") {
    const d = cfg.nat.delta ?? { kind: "independent", value: 1 };
    return T.predictPorts(d, mappedPort, 6);
  }
  return [mappedPort];
}

async function exchange(step, info) {
  post({ kind: "info", step, ...info });
  const peer = await next("info", step);
  // Same router (same public IP, no hairpin): talk over the LAN instead.
  const lan = peer.pub === info.pub && info.pub !== undefined;
  return { peer, lan };
}

// ---------------------------------------------------------------- strategies
const attempts = {
  async "tcp-punch"(step) {
    const role = T.punchRole(cfg.nat, peerHello.nat, { initiator: me === "A" });
    const m = await T.openTcpMapping({ stunServer: stun, localAddress: cfg.lanIp });
    myPublicIp = m.mapped.host;
    const { peer, lan } = await exchange(step, {
      pub: m.mapped.host,
      ports: advertised(role, m.mapped.port),
      lan: { host: cfg.lanIp, port: m.local.port },
    });
    const { at, clock } = await meet(step);
    const remote = lan
      ? { host: peer.lan.host, ports: [peer.lan.port] }
      : { host: peer.pub, ports: peer.ports };
    const sock = await T.tcpPunch({
      localAddress: cfg.lanIp,
      localPort: m.local.port,
      remote,
      at,
      clock,
      // Nothing drops SYNs on a LAN (refusals come back at once), so one side listens there.
      accept: lan ? me === "B" : role.tcpAccept,
      mapping: m,
      role: me === "A" ? "initiator" : "responder",
      timeoutMs: WINDOW["tcp-punch"],
    });
    const connectMs = clock() - at;
    await proveTcp(sock);
    return { connectMs };
  },

  async "udp-punch"(step) {
    const role = T.punchRole(cfg.nat, peerHello.nat, { initiator: me === "A" });
    const sock = dgram.createSocket("udp4");
    await new Promise((r) => sock.bind(0, cfg.lanIp, r));
    const mapped = await T.udpMapping(sock, stun);
    myPublicIp = mapped.host;
    const { peer, lan } = await exchange(step, {
      pub: mapped.host,
      ports: advertised(role, mapped.port),
      lan: { host: cfg.lanIp, port: sock.address().port },
    });
    const { at, clock } = await meet(step);
    const birthday =
      lan || !role.udpBirthday
        ? undefined
        : role.udpBirthday === "many"
          ? { role: "many", sockets: 256 }
          : { role: "spray", probes: 2048 };
    const stream = await T.udpPunch({
      socket: sock,
      remote: lan
        ? { host: peer.lan.host, ports: [peer.lan.port] }
        : { host: peer.pub, ports: peer.ports },
      acceptAnyPort: !lan && role.acceptAnyPort,
      birthday,
      session: T.sessionFromToken(`${cfg.room}/${step}`),
      at,
      clock,
      timeoutMs: WINDOW["udp-punch"],
      // Keep-alive checks: the stream's idle ping period and a dead-peer timer past the idle time.
      ...(cfg.keepAliveMs
        ? { stream: { keepAliveMs: cfg.keepAliveMs, deadAfterMs: cfg.idleMs + 30_000 } }
        : {}),
      log: cfg.debug ? (l) => log(l) : undefined,
    });
    const connectMs = clock() - at;
    await proveStream(stream);
    return { connectMs, birthday: birthday?.role };
  },

  async turn(step) {
    const t0 = Date.now();
    const client = await T.TurnClient.allocate({
      server: { host: cfg.turn.host, port: cfg.turn.port },
      username: cfg.turn.user,
      password: cfg.turn.pass,
    });
    try {
      const { peer } = await exchange(step, { relay: client.relayed });
      await client.createPermission(peer.relay.host);
      await client.bindChannel(peer.relay);
      const stream = new T.ReliableUdpStream(T.turnLink(client, peer.relay), {
        session: T.sessionFromToken(`${cfg.room}/${step}`),
      });
      const connectMs = Date.now() - t0;
      await proveStream(stream);
      return { connectMs };
    } finally {
      await client.close();
    }
  },

  // Plain TCP connect to a listening peer ("server" = B for direct, A for reverse).
  async direct(step, server = "B") {
    const m = await T.openTcpMapping({ stunServer: stun, localAddress: cfg.lanIp });
    myPublicIp = m.mapped.host;
    const { peer, lan } = await exchange(step, {
      pub: m.mapped.host,
      ports: [m.mapped.port],
      lan: { host: cfg.lanIp, port: m.local.port },
    });
    const t0 = Date.now();
    if (me === server) {
      // Listening on the port whose mapping STUN saw (a full cone keeps it open for anyone).
      const accepting = T.tcpPunch({
        localAddress: cfg.lanIp,
        localPort: m.local.port,
        remote: { host: lan ? peer.lan.host : peer.pub, ports: [] },
        at: Date.now(),
        accept: true,
        mapping: m,
        timeoutMs: WINDOW.direct,
      });
      // Tell the dialer once the listener is up (it binds within a tick or two).
      setTimeout(() => post({ kind: "ready", step }), 20);
      const sock = await accepting;
      await proveTcp(sock);
      return { connectMs: Date.now() - t0 };
    }
    m.close();
    const target = lan ? peer.lan : { host: peer.pub, port: peer.ports[0] };
    await next("ready", step, WINDOW.direct);
    const sock = net.connect({ host: target.host, port: target.port, localAddress: cfg.lanIp });
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        sock.destroy();
        reject(
          Object.assign(new Error("direct connect timed out"), { code: "ERR_CONNECT_TIMEOUT" }),
        );
      }, WINDOW.direct);
      sock.once("connect", () => {
        clearTimeout(t);
        resolve();
      });
      sock.once("error", (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
    const connectMs = Date.now() - t0;
    await proveTcp(sock);
    return { connectMs };
  },

  reverse(step) {
    return attempts.direct(step, "A");
  },
};

// ---------------------------------------------------------------- run
const started = Date.now();
const plan =
  cfg.strategy === "all"
    ? T.planStrategies(me === "A" ? cfg.nat : peerHello.nat, me === "A" ? peerHello.nat : cfg.nat, {
        sameLan: cfg.sameLan,
      })
    : [cfg.strategy];
const tried = [];
let result = { ok: false };
for (const [step, s] of plan.entries()) {
  const t0 = Date.now();
  try {
    const r = await attempts[s](step);
    tried.push({ strategy: s, ok: true, ms: Date.now() - t0 });
    result = {
      ok: true,
      strategy: s,
      ...r,
      totalMs: Date.now() - started,
      ...(late === undefined ? {} : { late }),
    };
    break;
  } catch (err) {
    log(s, err);
    tried.push({
      strategy: s,
      ok: false,
      code: err.code ?? "ERR",
      error: String(err.message ?? err).slice(0, 160),
    });
    // Both sides move to the next step together.
    post({ kind: "failed", step });
    await next("failed", step, WINDOW[s] + 6000).catch(() => {});
  }
}
console.log(JSON.stringify({ role: me, ...result, plan, tried, publicIp: myPublicIp }));
rdv.destroy();
process.exit(0);
