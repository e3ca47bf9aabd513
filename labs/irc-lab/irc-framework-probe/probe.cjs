// Probe irc-framework (4.14.x) against the IRCDNS lab networks.
// Usage: NODE_PATH=<dir with irc-framework>/node_modules node probe.cjs [net ...]
// Reads $IRC_LAB_DIR/lab.json (default /tmp/ircdns-lab/lab.json). Loopback only.
"use strict";
const fs = require("fs");
const crypto = require("crypto");
const IRC = require("irc-framework");

const LAB = process.env.IRC_LAB_DIR || "/tmp/ircdns-lab";
const nets = JSON.parse(fs.readFileSync(`${LAB}/lab.json`, "utf8")).networks;
const only = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Resolve with the first event that satisfies pred, reject after ms.
function waitFor(client, events, pred, ms, label) {
  return new Promise((resolve, reject) => {
    const offs = [];
    const done = (fn, v) => {
      offs.forEach((o) => o());
      clearTimeout(t);
      fn(v);
    };
    const t = setTimeout(() => done(reject, new Error(`timeout waiting for ${label}`)), ms);
    for (const ev of [].concat(events)) {
      const h = (e) => {
        try {
          if (pred(e, ev)) done(resolve, { ev, e });
        } catch (err) {
          done(reject, err);
        }
      };
      client.on(ev, h);
      offs.push(() => client.removeListener(ev, h));
    }
  });
}

function mkClient(net, nick, extra = {}) {
  const c = new IRC.Client();
  const log = [];
  c.on("raw", (r) => log.push(`${r.from_server ? "<<" : ">>"} ${r.line}`));
  c.connect({
    host: net.host,
    port: net.port,
    nick,
    username: nick,
    gecos: "irc-framework probe",
    auto_reconnect: false,
    ping_interval: 30,
    ping_timeout: 120,
    ...extra,
  });
  c._probeLog = log;
  return c;
}
const registered = (c, ms = 15000) => waitFor(c, "registered", () => true, ms, "registered");
const fromServ = (svc, re) => (e) =>
  e.nick && e.nick.toLowerCase() === svc.toLowerCase() && re.test(e.message);

async function probe(net) {
  const r = {};
  try {
    return await probeInner(net, r);
  } catch (e) {
    e.partial = r;
    throw e;
  }
}

async function probeInner(net, r) {
  Object.assign(r, { network: net.name, ircd: net.ircd, services: net.services });
  const tok = crypto.randomBytes(3).toString("hex");
  const nick = `f${tok}`,
    pw = `Pw${crypto.randomBytes(8).toString("hex")}`,
    chan = `#fw${tok}`;
  const logs = {};
  r._logs = logs;

  // 1. plain connect, ISUPPORT, NickServ REGISTER via say()
  const a = mkClient(net, nick);
  await registered(a);
  r.isupport = {
    TOPICLEN: a.network.supports("TOPICLEN"),
    CHANNELLEN: a.network.supports("CHANNELLEN"),
    NICKLEN: a.network.supports("NICKLEN"),
    CASEMAPPING: a.network.supports("CASEMAPPING"),
  };
  r.caps_available = [...a.network.cap.available.keys()];
  a.say("NickServ", `REGISTER ${pw} ${tok}@example.org`);
  const reg = await waitFor(
    a,
    "notice",
    fromServ("NickServ", /regist/i),
    10000,
    "NickServ REGISTER reply",
  );
  r.nickserv_register_notice = reg.e.message;
  // error events: unknown target and unknown command
  a.say("NoSuchServ", "hello");
  const nsn = await waitFor(
    a,
    "irc error",
    (e) => e.error === "no_such_nick",
    5000,
    "no_such_nick",
  );
  r.irc_error_no_such_nick = nsn.e.error;
  a.raw("FOOBAR");
  const unk = await waitFor(
    a,
    "irc error",
    (e) => e.error === "unknown_command",
    5000,
    "unknown_command",
  ).catch((e) => ({ e: { error: e.message } }));
  r.irc_error_unknown_command = unk.e.error;
  const aClosed = waitFor(a, "close", () => true, 10000, "close after QUIT").catch(() => null);
  a.quit("done");
  logs.a = a._probeLog;
  await aClosed;
  await sleep(1000);

  // 2. SASL PLAIN login with the new account (falls back / fails where SASL is not offered)
  const b = mkClient(net, nick, { account: { account: nick, password: pw } });
  const sasl = await Promise.race([
    waitFor(b, ["loggedin", "sasl failed"], () => true, 15000, "sasl result"),
  ]).catch((e) => ({ ev: "error", e: { message: e.message } }));
  logs.b = b._probeLog;
  r.sasl =
    sasl.ev === "loggedin"
      ? { ok: true, account: sasl.e.account }
      : { ok: false, reason: sasl.e.reason || sasl.e.message };
  await registered(b).catch(() => {});
  if (!r.sasl.ok) {
    // classic NickServ IDENTIFY instead
    b.say("NickServ", `IDENTIFY ${pw}`);
    const idf = await waitFor(
      b,
      ["notice", "loggedin"],
      (e, ev) => ev === "loggedin" || fromServ("NickServ", /accepted|identified|recognized/i)(e),
      10000,
      "IDENTIFY",
    );
    r.identify_fallback = idf.ev === "loggedin" ? "900 loggedin" : idf.e.message;
  }

  // 3. channel registration + ChanServ TOPIC; long topic through say() vs raw()
  b.join(chan);
  await waitFor(b, "join", (e) => e.channel === chan && e.nick === nick, 5000, "join");
  b.say("ChanServ", `REGISTER ${chan}` + (net.services === "anope" ? " probe" : ""));
  const creg = await waitFor(
    b,
    "notice",
    fromServ("ChanServ", /regist/i),
    10000,
    "ChanServ REGISTER",
  );
  r.chanserv_register_notice = creg.e.message;
  const topicLen = Number(r.isupport.TOPICLEN) || 300;
  const room = 510 - `PRIVMSG ChanServ :TOPIC ${chan} `.length;
  const longTopic = "p2pd.net/irc " + "x".repeat(Math.min(topicLen, room) - 13);
  b.say("ChanServ", `TOPIC ${chan} ${longTopic}`); // say() splits at message_max_length (350 bytes)
  const t1 = await waitFor(b, "topic", (e) => e.channel === chan, 8000, "topic via say").catch(
    () => null,
  );
  r.say_long_topic = {
    sent_len: longTopic.length,
    stored_len: t1 ? t1.e.topic.length : null,
    lines_sent: b._probeLog.filter((l) => l.startsWith(">> PRIVMSG ChanServ")).length,
  };
  await sleep(1500);
  // raw(): one line, no splitting. (Use a different text: ircds ignore an unchanged topic.)
  const longTopic2 = longTopic.slice(0, -1) + "y";
  b.raw("PRIVMSG", "ChanServ", `TOPIC ${chan} ${longTopic2}`);
  const t2 = await waitFor(
    b,
    "topic",
    (e) => e.channel === chan && e.nick,
    8000,
    "topic via raw",
  ).catch(() => null);
  r.raw_long_topic = {
    sent_len: longTopic2.length,
    echoed_len: t2 ? t2.e.topic.length : null,
    intact: !!(t2 && t2.e.topic === longTopic2),
  };

  // 4. unauthenticated reader over TLS (self-signed) and IPv6 where offered
  const readerOpts =
    net.ircd === "ngircd"
      ? { tls: true, port: net.tlsPort, rejectUnauthorized: false }
      : { tls: true, port: net.tlsPort, rejectUnauthorized: false, host: net.host6 };
  const c = mkClient(net, `r${tok}`, readerOpts);
  await registered(c);
  r.reader_tls = true;
  c.join(chan);
  const tj = await waitFor(c, "topic", (e) => e.channel === chan, 5000, "topic on join").catch(
    () => null,
  );
  r.reader_topic_on_join = {
    ok: !!(tj && tj.e.topic === longTopic2),
    len: tj ? tj.e.topic.length : null,
  };
  c.raw("TOPIC", chan);
  const tq = await waitFor(c, "topic", (e) => e.channel === chan, 5000, "topic query").catch(
    () => null,
  );
  r.reader_topic_query = {
    ok: !!(tq && tq.e.topic === longTopic2),
    len: tq ? tq.e.topic.length : null,
  };
  r.topic_event_shape = tq ? Object.keys(tq.e) : null;
  // 331 (no topic) arrives as the same 'topic' event with topic ''
  c.join(`${chan}empty`);
  await sleep(500);
  c.raw("TOPIC", `${chan}empty`);
  const te = await waitFor(c, "topic", (e) => e.channel === `${chan}empty`, 5000, "331").catch(
    () => null,
  );
  r.no_topic_event = te ? { topic: te.e.topic, has_nick: "nick" in te.e } : null;
  c.quit("bye");
  b.quit("bye");
  logs.b = b._probeLog;
  logs.c = c._probeLog;

  // 5. failure modes: nick in use, refused port, over-long raw line
  const d = mkClient(net, `d${tok}`);
  await registered(d);
  const e1 = mkClient(net, `d${tok}`);
  const niu = await waitFor(e1, "nick in use", () => true, 8000, "nick in use").catch(() => null);
  r.nick_in_use_event = !!niu; // irc-framework does not pick another nick by itself
  e1.quit("bye");
  d.raw("PRIVMSG", d.user.nick, "y".repeat(600));
  const longRes = await waitFor(
    d,
    ["irc error", "close", "privmsg"],
    () => true,
    5000,
    "long line",
  ).catch(() => ({ ev: "nothing" }));
  r.overlong_line =
    longRes.ev +
    (longRes.e && longRes.e.reason ? `: ${longRes.e.reason}` : "") +
    (longRes.ev === "privmsg" ? ` (echoed len ${longRes.e.message.length})` : "");
  d.quit("bye");
  const f = mkClient({ ...net, port: 1 }, `z${tok}`);
  const refused = await waitFor(
    f,
    ["close", "socket close", "socket error"],
    () => true,
    5000,
    "refused",
  ).catch(() => null);
  r.refused_port_event = refused ? refused.ev : "none";

  fs.mkdirSync(`${__dirname}/../transcripts`, { recursive: true });
  fs.writeFileSync(
    `${__dirname}/../transcripts/${net.name}-irc-framework.txt`,
    Object.entries(logs)
      .map(([k, v]) => `## client ${k}\n${v.join("\n")}`)
      .join("\n\n") + "\n",
  );
  return r;
}

(async () => {
  let ok = true;
  for (const net of nets) {
    if (only.length && !only.includes(net.name)) continue;
    try {
      const res = await probe(net);
      delete res._logs;
      console.log(JSON.stringify(res, null, 1));
    } catch (e) {
      ok = false;
      const lg = (e.partial && e.partial._logs) || {};
      if (e.partial) delete e.partial._logs;
      console.log(JSON.stringify({ network: net.name, error: e.message, partial: e.partial }));
      if (process.env.PROBE_DEBUG)
        console.log(
          Object.entries(lg)
            .map(([k, v]) => `## ${k}\n${v.join("\n")}`)
            .join("\n"),
        );
    }
  }
  await sleep(500);
  process.exit(ok ? 0 : 1);
})();
