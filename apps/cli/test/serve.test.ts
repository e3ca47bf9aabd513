import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

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

beforeAll(async () => {
  if (!ready) return;
  child = spawn(
    process.execPath,
    [CLI, "serve", "--port", "0", "--interfaces", "loopback", "--json"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  info = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    });
    child.once("exit", (code) => reject(new Error(`p2pd serve exited ${code}`)));
  });
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
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGINT");
    await exited;
  }
});

describe.skipIf(!ready)("p2pd serve: dashboard in headless Chromium", () => {
  test("shows the address, interfaces and NAT; connects and sends from the form", async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    await page.goto(`${info.url}/`);
    await expect.poll(() => page.textContent("#addr")).toBe(info.addr);
    await expect.poll(() => page.locator("#ifs tbody tr").count()).toBeGreaterThan(0);
    const before = await page.screenshot();
    expect(pngSize(before)).toEqual({ width: 1000, height: 800 });

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
    expect(await page.textContent("#cons tbody tr")).toContain("web1");

    const after = await page.screenshot();
    expect(pngSize(after)).toEqual({ width: 1000, height: 800 });
    // The connections table gained a row: the rendered page changed.
    expect(after.equals(before)).toBe(false);
    await page.close();
  });

  test("a hostile page on another origin cannot open connections or send", async () => {
    const api = new URL(info.url);
    const html = `<!doctype html><body>
      <img src="${info.url}/open/evil1/self">
      <img src="${info.url}/p2p/open/evil2/self">
      <iframe sandbox="allow-scripts" srcdoc="<script>fetch('${info.url}/open/evil3/self',{mode:'no-cors'})</script>"></iframe>
      <form id=f method=POST action="${info.url}/binary/web1"><input name=x value=y></form>
      <script>
        fetch("${info.url}/open/evil4/self", { mode: "no-cors" }).catch(() => {});
        fetch("${info.url}/open/evil5/self").catch(() => {});
        document.getElementById("f").submit();
      </script></body>`;
    hostile = createServer((_, res) => res.end(html));
    await new Promise<void>((r) => hostile.listen(0, "127.0.0.2", r));
    const port = (hostile.address() as { port: number }).port;
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.2:${port}/`).catch(() => {});
    await page.waitForTimeout(1500);
    await page.close();
    const cons = (await (await fetch(`http://${api.host}/cons`)).json()) as {
      cons: { name: string; msgsOut: number }[];
    };
    expect(cons.cons.map((c) => c.name).filter((n) => n.startsWith("evil"))).toEqual([]);
    // web1 sent exactly the one message the dashboard test sent; the hostile form added nothing.
    expect(cons.cons.find((c) => c.name === "web1")?.msgsOut).toBe(1);
  });
});
