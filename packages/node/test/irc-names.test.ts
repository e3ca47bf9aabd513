import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type EmbeddedBroker, echo, type P2PNode, startBroker, startNode } from "../src/index.js";

/** Our own IRC lab ports: away from the offsets other suites use (-10500..-11500), per process and per file. */
const ircDir = join(tmpdir(), `ircdns-lab-nd-${process.pid}`);
function ircPortOffset(): number {
  // Negative offsets keep every port below the ephemeral range (labs/irc-lab/README.md).
  return -12000 - (process.pid % 30) * 100 + 0;
}

// labs/irc-lab/lab.ts (three real IRC networks with services on loopback) is outside rootDir.
interface IrcLab {
  serverList: string;
  stop(): Promise<void>;
}
const lab = (await import(
  pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "../../../labs/irc-lab/lab.ts")).href
)) as {
  labMissing(): string | undefined;
  startLab(o: { dir: string; portOffset: number }): Promise<IrcLab>;
};
const why = lab.labMissing() ?? (process.getuid?.() === 0 ? undefined : "needs root");

describe.skipIf(why !== undefined)("names on the IRC lab (IRCDNS)", () => {
  let irc: IrcLab;
  let broker: EmbeddedBroker;
  let a: P2PNode;
  let b: P2PNode;
  let other: EmbeddedBroker;

  beforeAll(async () => {
    irc = await lab.startLab({
      dir: ircDir,
      portOffset: ircPortOffset(),
    });
    broker = await startBroker();
    const common = {
      interfaces: "loopback" as const,
      mqtt: broker.url,
      irc: irc.serverList.split(","),
    };
    a = await startNode({ ...common, seed: `nd-irc-${Date.now()}` });
    b = await startNode(common);
    other = await startBroker();
  }, 180_000);

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await broker?.close();
    await other?.close();
    await irc?.stop();
    rmSync(ircDir, { recursive: true, force: true });
  }, 60_000);

  test("register a name, connect to it by name from another node, ECHO", async () => {
    const name = `nd${Date.now().toString(36)}.peer`;
    expect(await a.register(name)).toBe(name);
    // lookup: the record on IRC, then the node's current address over signaling.
    expect(await b.lookup(name)).toBe(a.address);
    const r = await b.connect(name, { strategies: ["direct"] });
    expect(r.timings.lookupMs).toBeGreaterThan(0);
    expect((await echo(r.pipe, "by IRC name")).toString()).toBe("by IRC name");
    await r.pipe.close();
  }, 120_000);

  test("a node on a broker outside the bundled list is reachable by name from a node on another broker", async () => {
    // The record carries A's broker as a URL (not a bundled index); C listens elsewhere only.
    const c = await startNode({
      interfaces: "loopback",
      mqtt: other.url,
      irc: irc.serverList.split(","),
    });
    try {
      const name = `nc${Date.now().toString(36)}.peer`;
      expect(await a.register(name)).toBe(name);
      expect(await c.lookup(name)).toBe(a.address);
      const r = await c.connect(name, { strategies: ["direct"] });
      expect((await echo(r.pipe, "private broker")).toString()).toBe("private broker");
      await r.pipe.close();
    } finally {
      await c.close();
    }
  }, 120_000);

  test("an unknown name is a typed error", async () => {
    const err = await b.lookup(`nd-missing-${Date.now()}.peer`).catch((e) => e);
    expect(typeof err.code).toBe("string");
    expect(err.code).toMatch(/^ERR_/);
  }, 120_000);
});
