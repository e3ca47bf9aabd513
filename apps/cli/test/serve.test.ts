import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { dirname, join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { run } from "../src/cli.js";
import { columnsOf, decodePng, scanlines } from "./png.js";

// `p2pd serve` for real (built CLI, real node, real REST server) driven by Debian's Chromium.
const CLI = join(dirname(dirname(fileURLToPath(import.meta.url))), "dist", "index.js");
const CHROMIUM = "/usr/bin/chromium";
const ready = existsSync(CLI) && existsSync(CHROMIUM);

let child: ChildProcess;
let info: { url: string; addr: string };
let browser: Browser;
let hostile: Server;

function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
  expect(png.subarray(12, 16).toString("latin1")).toBe("IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** Distinct byte values in the PNG's decompressed scanlines: a blank page has very few. */
function pngVariety(png: Buffer): number {
  return new Set(scanlines(png)).size;
}

function serve(
  extra: string[],
): Promise<{ child: ChildProcess; info: { url: string; addr: string } }> {
  const c = spawn(
    process.execPath,
    [CLI, "serve", "--port", "0", "--interfaces", "loopback", "--json", ...extra],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    c.stdout?.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve({ child: c, info: JSON.parse(out.slice(0, nl)) });
    });
    c.once("exit", (code) => reject(new Error(`p2pd serve exited ${code}`)));
  });
}

async function stop(c: ChildProcess | undefined): Promise<void> {
  if (!c || c.exitCode !== null) return;
  const exited = new Promise((r) => c.once("exit", r));
  c.kill("SIGINT");
  await exited;
}

beforeAll(async () => {
  if (!ready) return;
  ({ child, info } = await serve([]));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  hostile?.close();
  await stop(child);
});

describe("p2pd serve flags", () => {
  test("a non-loopback --host or a bad --port is a usage error (exit 2) before any node starts", async () => {
    for (const argv of [
      ["--host", "0.0.0.0"],
      ["--host", "127.0.0.1.example"],
      ["--port", "70000"],
    ]) {
      const stderr = new PassThrough();
      let err = "";
      stderr.on("data", (d) => (err += d));
      const code = await run(["serve", ...argv, "--interfaces", "loopback"], {
        stdout: new PassThrough(),
        stderr,
      });
      expect(code, argv.join(" ")).toBe(2);
      expect(err).toContain("ERR_USAGE");
      expect(err).not.toContain("starting the node");
    }
  });
});

describe.skipIf(!ready)("p2pd serve: dashboard in headless Chromium", () => {
  test("shows the address, interfaces and NAT; connects and sends from the form", async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    await page.goto(`${info.url}/`);
    await expect.poll(() => page.textContent("#addr")).toBe(info.addr);
    await expect.poll(() => page.locator("#ifs tbody tr").count()).toBeGreaterThan(0);
    // Routes: one row per interface and family, NIC address -> external address, NAT type.
    await expect.poll(() => page.locator("#routes tbody tr").count()).toBe(2);
    const routes = await page.locator("#routes tbody tr").allTextContents();
    expect(routes[0]).toContain("lo");
    expect(routes[0]).toContain("IPv4");
    expect(routes[0]).toContain("127.0.0.1\u2192127.0.0.1");
    expect(routes[1]).toContain("::1\u2192::1");
    expect(routes[0]).toContain("unknown"); // no STUN test on loopback
    expect(await page.textContent("#ifs tbody tr")).toContain("unknown");
    const before = await page.screenshot();
    expect(pngSize(before)).toEqual({ width: 1000, height: 800 });
    expect(pngVariety(before)).toBeGreaterThan(20);
    const consBefore = pngSize(await page.locator("#cons").screenshot());

    await page.fill("#con-name", "web1");
    await page.fill("#dest", "self");
    await page.click("#open button");
    await expect.poll(() => page.textContent("#out")).toContain('"strategy"');
    await page.fill("#text", "ECHO from the browser");
    await page.click("#send button");
    await expect.poll(() => page.textContent("#out")).toContain('"sent"');
    await page.click("#recv");
    await expect.poll(() => page.textContent("#out")).toContain("from the browser");
    await expect.poll(() => page.locator("#cons tbody tr").count()).toBe(1);
    const row = await page.locator("#cons tbody tr td").allTextContents();
    expect(row[0]).toBe("web1");
    expect(row[1]).toBe("direct"); // the strategy that won
    // Traffic counters: one message out, its echo in.
    await expect
      .poll(async () => (await page.locator("#cons tbody tr td").allTextContents())[4])
      .toMatch(/^1 msgs \/ \d+ B$/);
    expect((await page.locator("#cons tbody tr td").allTextContents())[3]).toMatch(
      /^1 msgs \/ \d+ B$/,
    );
    // The connections table, screenshotted alone, grew by the new row.
    const consAfter = pngSize(await page.locator("#cons").screenshot());
    expect(consAfter.width).toBe(consBefore.width);
    expect(consAfter.height).toBeGreaterThan(consBefore.height);

    const after = await page.screenshot();
    expect(pngSize(after)).toEqual({ width: 1000, height: 800 });
    // The connections table gained a row: the rendered page changed.
    expect(after.equals(before)).toBe(false);
    await page.close();
  });

  test("each connection's attempt is drawn as a timeline: a red bar (failed), then a green one (won)", async () => {
    // The node's own address with every port closed: direct is refused at once, then reverse
    // (the node dials back to its real port over signaling) wins.
    const closed = info.addr.replace(/,(\d+),0,0,0\]/g, ",1,0,0,0]");
    expect(closed).not.toBe(info.addr);
    const opened = await fetch(
      `${info.url}/open/tl1/${encodeURIComponent(closed)}?strategies=direct,reverse`,
    );
    const con = (await opened.json()) as {
      strategy: string;
      timeline: {
        strategy: string;
        outcome: string;
        code?: string;
        startMs: number;
        endMs: number;
      }[];
    };
    expect(opened.status, JSON.stringify(con)).toBe(200);
    expect(con.strategy).toBe("reverse");
    expect(con.timeline.map((t) => [t.strategy, t.outcome, t.code])).toEqual([
      ["direct", "failed", "ERR_CONNECT_REFUSED"],
      ["reverse", "won", undefined],
    ]);

    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    await page.goto(`${info.url}/`);
    const box = page.locator('#timelines .tl[data-con="tl1"]');
    await expect.poll(() => box.locator(".tl-row").count()).toBe(2);
    expect(
      await box
        .locator(".tl-row")
        .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-outcome"))),
    ).toEqual(["failed", "won"]);
    const texts = await box.locator(".tl-row").allTextContents();
    expect(texts[0]).toMatch(/^direct.*ms \(.+ ms\) failed ERR_CONNECT_REFUSED: /);
    expect(texts[1]).toMatch(/^reverse.*ms \(.+ ms\) won$/);
    expect(await box.locator("h3").textContent()).toMatch(/^tl1: reverse won, [\d.]+ ms$/);

    // The pixels: a red bar (failed) and a green bar (won), each a filled band of rows, the
    // green one starting where the red one ends (a failure starts the next strategy at once).
    const img = decodePng(await box.screenshot());
    const red = columnsOf(img, "#cf222e");
    const green = columnsOf(img, "#1a7f37");
    expect(red.size).toBeGreaterThanOrEqual(4); // a bar is at least 4 px wide
    expect(green.size).toBeGreaterThanOrEqual(4);
    expect(Math.max(...red.values())).toBeGreaterThanOrEqual(8); // and ~12 px tall
    expect(Math.max(...green.values())).toBeGreaterThanOrEqual(8);
    const redX = [...red.keys()];
    const greenX = [...green.keys()];
    expect(Math.min(...redX)).toBeLessThan(Math.min(...greenX));
    expect(Math.min(...greenX)).toBeGreaterThanOrEqual(Math.max(...redX) - 4);
    // Nothing lost, skipped or given up: no grey or amber bar.
    expect(columnsOf(img, "#bf8700").size).toBe(0);
    await page.close();
    await fetch(`${info.url}/close/tl1`);
  });

  test("a hostile page on another origin cannot open connections or send", async () => {
    const api = new URL(info.url);
    const html = `<!doctype html><body>
      <img src="${info.url}/open/evil1/self">
      <img src="${info.url}/p2p/open/evil2/self">
      <iframe sandbox="allow-scripts" srcdoc="<script>fetch('${info.url}/open/evil3/self',{mode:'no-cors'})</script>"></iframe>
      <iframe sandbox="allow-scripts" srcdoc="<script>fetch('${info.url}/addr').then(r=>r.text()).then(t=>parent.postMessage(t,'*'),e=>parent.postMessage('refused '+e,'*'))</script>"></iframe>
      <iframe name=sink></iframe><form id=f method=POST target=sink action="${info.url}/binary/web1"><input name=x value=y></form>
      <script>
        window.leaks = [];
        addEventListener("message", (e) => window.leaks.push(String(e.data)));
        fetch("${info.url}/open/evil4/self", { mode: "no-cors" }).catch(() => {});
        fetch("${info.url}/open/evil5/self").catch(() => {});
        document.getElementById("f").submit();
      </script></body>`;
    hostile = createServer((_, res) => res.end(html));
    await new Promise<void>((r) => hostile.listen(0, "127.0.0.2", r));
    const port = (hostile.address() as { port: number }).port;
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.2:${port}/`).catch(() => {});
    // The sandboxed frame tried to read the node's address: its fetch must have failed.
    await expect
      .poll(() => page.evaluate(() => (globalThis as unknown as { leaks: string[] }).leaks.length))
      .toBe(1);
    const leaks = await page.evaluate(() => (globalThis as unknown as { leaks: string[] }).leaks);
    expect(leaks[0]).toMatch(/^refused |ERR_CROSS_SITE/);
    expect(leaks.join()).not.toContain(info.addr);
    await page.waitForTimeout(1000);
    await page.close();
    const cons = (await (await fetch(`http://${api.host}/cons`)).json()) as {
      cons: { name: string; msgsOut: number }[];
    };
    expect(cons.cons.map((c) => c.name).filter((n) => n.startsWith("evil"))).toEqual([]);
    // web1 sent exactly the one message the dashboard test sent; the hostile form added nothing.
    expect(cons.cons.find((c) => c.name === "web1")?.msgsOut).toBe(1);
  });

  test("with --token, the dashboard works when opened as /#token=T and is refused without it", async () => {
    const guarded = await serve(["--token", "dash-secret"]);
    try {
      const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
      await page.goto(`${guarded.info.url}/`);
      await expect.poll(() => page.textContent("#status")).toContain("ERR_UNAUTHORIZED");
      expect(await page.textContent("#addr")).not.toBe(guarded.info.addr);
      await page.goto(`${guarded.info.url}/#token=dash-secret`);
      await page.reload();
      await expect.poll(() => page.textContent("#addr")).toBe(guarded.info.addr);
      const shot = await page.screenshot();
      expect(pngSize(shot)).toEqual({ width: 1000, height: 800 });
      expect(pngVariety(shot)).toBeGreaterThan(20);
      await page.close();
    } finally {
      await stop(guarded.child);
    }
  }, 30_000);
});
