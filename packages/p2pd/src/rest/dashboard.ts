/**
 * The dashboard: one self-contained page (no external assets, works offline) that polls the API
 * of the server that served it. Same-origin requests pass the server's cross-site checks.
 */
export function dashboardHtml(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>p2pd dashboard</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#1b1f24;background:#f6f8fa}
h1{font-size:20px;margin:0 0 16px} h2{font-size:15px;margin:20px 0 8px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;margin-bottom:12px}
table{border-collapse:collapse;width:100%} td,th{border-bottom:1px solid #eaeef2;padding:4px 8px;text-align:left;font-size:13px}
code{word-break:break-all;font-size:12px} input{padding:4px;margin-right:6px} button{padding:4px 12px}
#status{color:#57606a} .err{color:#cf222e}
.tl{margin:6px 0 12px} .tl h3{font-size:13px;margin:0 0 4px;font-weight:600}
.tl-row{display:flex;align-items:center;gap:8px;height:20px;font-size:12px}
.tl-name{width:80px;flex:none;font-family:monospace}
.tl-track{position:relative;flex:1;height:14px;background:#f6f8fa;border:1px solid #eaeef2}
.tl-bar{position:absolute;top:1px;bottom:1px;min-width:4px;border-radius:2px}
.tl-text{width:360px;flex:none;color:#57606a;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.o-won{background:#1a7f37} .o-failed{background:#cf222e} .o-lost{background:#8c959f}
.o-gave-up{background:#bf8700} .o-skipped{background:#fff;border:1px dashed #8c959f}
.legend span{display:inline-block;width:12px;height:10px;margin:0 4px 0 12px;vertical-align:middle}
</style></head><body>
<h1>p2pd <span id="version"></span></h1>
<section><h2>P2P address</h2><code id="addr">…</code><div id="status"></div></section>
<section><h2>Interfaces and NAT</h2><table id="ifs"><thead><tr><th>name</th><th>IPv4</th><th>IPv6</th><th>external</th><th>NAT</th></tr></thead><tbody></tbody></table>
<h2>Routes</h2><table id="routes"><thead><tr><th>interface</th><th>family</th><th>NIC address</th><th></th><th>external address</th><th>NAT</th><th>port mapped</th></tr></thead><tbody></tbody></table></section>
<section><h2>Connections</h2><table id="cons"><thead><tr><th>name</th><th>strategy</th><th>remote</th><th>in</th><th>out</th></tr></thead><tbody></tbody></table></section>
<section><h2>Connection attempts</h2>
<div class="legend">strategies on a shared time axis (ms since the connect began):<span class="o-won"></span>won<span class="o-failed"></span>failed<span class="o-lost"></span>lost the race<span class="o-gave-up"></span>gave up<span class="o-skipped"></span>skipped</div>
<div id="timelines"></div></section>
<section><h2>Connect and send</h2>
<form id="open"><input id="con-name" placeholder="name" value="c1"><input id="dest" placeholder="address, name or self" value="self" size="40"><button>Connect</button></form>
<form id="send" style="margin-top:8px"><input id="text" placeholder="message" value="ECHO hello"><button>Send</button><button type="button" id="recv">Receive</button></form>
<pre id="out"></pre></section>
<script>
const NAT = ["unknown","open","UDP firewall","full cone","restricted cone","port restricted","symmetric","blocked"];
const DELTA = ["","n/a","equal","preserving","independent","dependent","random"];
const $ = (id) => document.getElementById(id);
// With a server token, open the page as /#token=T (a fragment never leaves the browser).
const TOKEN = new URLSearchParams(location.hash.slice(1)).get("token");
async function api(path, init = {}) {
  const r = await fetch(path, TOKEN ? { ...init, headers: { Authorization: "Bearer " + TOKEN } } : init);
  const body = r.headers.get("content-type")?.includes("json") ? await r.json() : await r.text();
  if (!r.ok) throw new Error(body.error ? body.error.code + ": " + body.error.message : r.status);
  return body;
}
function rows(tbody, items, cells) {
  tbody.replaceChildren(...items.map((it) => { const tr = document.createElement("tr");
    for (const c of cells(it)) { const td = document.createElement("td"); td.textContent = c; tr.append(td); } return tr; }));
}
async function refresh() {
  try {
    const [v, a, i, c] = await Promise.all([api("/version"), api("/addr"), api("/ifs"), api("/cons")]);
    $("version").textContent = v.version; $("addr").textContent = a.addr;
    rows($("ifs").tBodies[0], i.ifs, (f) => [f.name, f.ipv4 ?? "", f.ipv6 ?? "", [f.ext4, f.ext6].filter(Boolean).join(" "), natText(f.nat)]);
    rows($("routes").tBodies[0], i.ifs.flatMap((f) => [[4, f.ipv4, f.ext4], [6, f.ipv6, f.ext6]].filter((r) => r[1]).map(([fam, nic, ext]) =>
      [f.name, "IPv" + fam, nic, "\u2192", ext ?? nic, natText(f.nat), f.mapped ? "yes" : "no"])), (r) => r);
    rows($("cons").tBodies[0], c.cons, (x) => [x.name, x.strategy, x.remote ? x.remote.ip + ":" + x.remote.port : "", x.msgsIn + " msgs / " + x.bytesIn + " B", x.msgsOut + " msgs / " + x.bytesOut + " B"]);
    timelines(c.cons);
    $("status").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) { $("status").textContent = String(e); $("status").className = "err"; }
}
// Each connection's attempt: one row per strategy, a bar from its start to its end, coloured by
// how it ended. Redrawn only when the attempts change (they do not once a connection is open).
let drawn = "";
function timelines(cons) {
  const key = JSON.stringify(cons.map((c) => [c.name, c.timeline]));
  if (key === drawn) return;
  drawn = key;
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
  const ms = (x) => (x < 10 ? x.toFixed(1) : String(Math.round(x)));
  $("timelines").replaceChildren(...cons.filter((c) => c.timeline?.length).map((c) => {
    const box = el("div", "tl");
    box.dataset.con = c.name;
    box.append(el("h3", "", c.name + ": " + c.strategy + " won, " + ms(c.connectMs) + " ms"));
    const span = Math.max(1, ...c.timeline.map((t) => t.endMs));
    for (const t of c.timeline) {
      const row = el("div", "tl-row");
      row.dataset.outcome = t.outcome;
      const track = el("div", "tl-track");
      const bar = el("div", "tl-bar o-" + t.outcome);
      bar.style.left = (100 * t.startMs) / span + "%";
      bar.style.width = (100 * (t.endMs - t.startMs)) / span + "%";
      bar.title = t.strategy + " " + t.outcome + (t.code ? " " + t.code : "");
      track.append(bar);
      const took = t.outcome === "skipped" ? "" : " (" + ms(t.endMs - t.startMs) + " ms)";
      const why = t.outcome === "won" ? "" : " " + (t.code ?? "") + (t.message ? ": " + t.message : "");
      const text = el("span", "tl-text", ms(t.startMs) + "\u2192" + ms(t.endMs) + " ms" + took + " " + t.outcome + why);
      text.title = text.textContent; // the full reason when it is cut off
      row.append(el("span", "tl-name", t.strategy), track, text);
      box.append(row);
    }
    return box;
  }));
}
function natText(n) {
  const t = NAT[n?.type ?? 0] ?? "?";
  const d = n?.delta?.type ? DELTA[n.delta.type] : "";
  return d && d !== "n/a" ? t + " (delta " + d + (n.delta.value ? " " + n.delta.value : "") + ")" : t;
}
function show(x) { $("out").textContent = typeof x === "string" ? x : JSON.stringify(x, null, 2); }
$("open").onsubmit = async (e) => { e.preventDefault();
  try { show(await api("/open/" + encodeURIComponent($("con-name").value) + "/" + encodeURIComponent($("dest").value))); } catch (err) { show(String(err)); } refresh(); };
$("send").onsubmit = async (e) => { e.preventDefault();
  try { show(await api("/send/" + encodeURIComponent($("con-name").value) + "/" + encodeURIComponent($("text").value))); } catch (err) { show(String(err)); } refresh(); };
$("recv").onclick = async () => {
  try { show(await api("/recv/" + encodeURIComponent($("con-name").value) + "?timeout=3")); } catch (err) { show(String(err)); } refresh(); };
refresh(); setInterval(refresh, 2000);
</script></body></html>`;
}
