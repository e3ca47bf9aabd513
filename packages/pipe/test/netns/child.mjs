// Runs inside a network namespace made by netns.test.ts; imports a fresh ESM build of src.
// Prints one JSON line with what it observed.
const { pipeOpen, Daemon, isPipeError } = await import(process.env.PIPE_BUILD);
const out = {};

async function echoOnce(proto, dest, bind) {
  const p = await pipeOpen(proto, bind, dest);
  await p.send(`hi ${proto}`);
  const m = await p.recvFull({ timeout: 2000 });
  await p.close();
  return { data: m.data.toString(), from: m.from, local: p.local };
}

if (process.argv[2] === "linklocal") {
  // Plain pipes on a scoped link-local address.
  const server = await pipeOpen("tcp", { host: "fe80::1", scopeId: "pv0" });
  const client = await pipeOpen("tcp", undefined, {
    host: "fe80::1",
    port: server.local.port,
    scopeId: "pv0",
  });
  const child = await server.accept({ timeout: 2000 });
  await client.send("over link-local");
  out.tcp = { server: server.local, child: child.remote, msg: (await child.recv()).toString() };
  await Promise.all([client.close(), server.close()]);

  const u = await pipeOpen("udp", { host: "fe80::1%pv0" }, undefined, { autoSubscribe: true });
  const u2 = await pipeOpen("udp", { host: "fe80::1", scopeId: "pv0" }, u.local);
  await u2.send("udp link-local");
  const m = await u.recvFull({ timeout: 2000 });
  await u.send("reply", m.from);
  out.udp = {
    msg: m.data.toString(),
    from: m.from,
    reply: (await u2.recv({ timeout: 2000 })).toString(),
  };
  await Promise.all([u.close(), u2.close()]);

  // Daemon: a global IPv6 bind also listens on the NIC's link-local, same port.
  const d = new Daemon({ onMessage: (msg) => msg.pipe.send(msg.data, msg.from) });
  await d.listenAll("fd00:99::1", 0, ["tcp", "udp"]);
  out.daemon = d.servers.map((s) => ({ proto: s.proto, local: s.local, linkLocal: s.linkLocal }));
  out.echo = [];
  for (const s of d.servers) out.echo.push(await echoOnce(s.proto, s.local));
  await d.close();

  // A port range × both protocols: the global bind must stay for every combination (P2PD kept
  // only the link-local after the first one). The namespace is ours, so fixed ports are free.
  const r = new Daemon({ onMessage: (msg) => msg.pipe.send(msg.data, msg.from) });
  await r.listenAll("fd00:99::1", [[40000, 40001]], ["tcp", "udp"]);
  out.range = r.servers.map((s) => `${s.proto} ${s.local.host} ${s.local.port}`);
  out.rangeEcho = [];
  for (const s of r.servers) out.rangeEcho.push((await echoOnce(s.proto, s.local)).data);
  await r.close();
} else if (process.argv[2] === "timeout") {
  const t0 = Date.now();
  try {
    await pipeOpen("tcp", undefined, { host: "127.0.0.1", port: 9 }, { connectTimeoutMs: 300 });
    out.code = "connected?!";
  } catch (e) {
    out.code = isPipeError(e) ? e.code : String(e);
  }
  out.elapsedOk = Date.now() - t0 >= 250;
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  try {
    await pipeOpen(
      "tcp",
      undefined,
      { host: "127.0.0.1", port: 9 },
      { connectTimeoutMs: 0, signal: ac.signal },
    );
  } catch (e) {
    out.abortCode = isPipeError(e) ? e.code : String(e);
  }
  await new Promise((r) => setTimeout(r, 20));
  out.handles = process.getActiveResourcesInfo().filter((r) => /TCP|UDP/.test(r)).length;
}
process.stdout.write(`${JSON.stringify(out)}\n`);
