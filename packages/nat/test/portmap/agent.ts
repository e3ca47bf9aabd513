// Runs inside the lab's LAN namespace (bundled by esbuild from ../../src): a JSON-lines RPC
// over stdin/stdout so a test in the host namespace can drive a real port mapper there.
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import {
  createPortMapper,
  discoverIgd,
  type PortMapper,
  type PortMapperOptions,
  UpnpGateway,
} from "../../src/portmap/index.js";

let mapper: PortMapper | undefined;
const events: unknown[] = [];
const closers: (() => void)[] = [];

function need(): PortMapper {
  if (!mapper) throw new Error("no mapper: call create first");
  return mapper;
}

const ops: Record<string, (a: Record<string, unknown>) => Promise<unknown> | unknown> = {
  create: (a) => {
    mapper = createPortMapper({
      ...(a as PortMapperOptions),
      onChange: (m, event) => events.push({ event, mapping: m }),
    });
    return true;
  },
  add: (a) => need().add(a as never),
  remove: (a) => need().remove(a as never),
  list: () => need().list(),
  listGateway: () => need().listGateway(),
  externalAddress: () => need().externalAddress(),
  close: (a) => need().close(a as never),
  events: () => events,
  // The low-level UPnP client on its own: what the IGD says about one external port.
  upnpEntry: async (a) => {
    const found = await discoverIgd({ timeoutMs: 3000 });
    if (!found) throw new Error("no IGD");
    const gw = await UpnpGateway.fromLocation(found.location);
    const entry = await gw.getSpecificPortMappingEntry(
      a.externalPort as number,
      a.proto as "tcp" | "udp",
    );
    return { st: found.st, service: gw.connection, entry: entry ?? null };
  },
  // A TCP server answering "hello" or a UDP echo, on a port the OS picks.
  listen: (a) =>
    new Promise((resolve) => {
      if (a.proto === "udp") {
        const s = createSocket(a.family === 6 ? "udp6" : "udp4");
        s.on("message", (m, r) => s.send(m, r.port, r.address));
        s.bind(0, () => resolve(s.address().port));
        closers.push(() => s.close());
      } else {
        const s = createServer((c) => c.end("hello\n"));
        s.listen(0, () => resolve((s.address() as { port: number }).port));
        closers.push(() => s.close());
      }
    }),
};

const rl = createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  const { id, op, args } = JSON.parse(line) as {
    id: number;
    op: string;
    args: Record<string, unknown>;
  };
  try {
    const fn = ops[op];
    if (!fn) throw new Error(`unknown op ${op}`);
    const value = await fn(args ?? {});
    process.stdout.write(`${JSON.stringify({ id, ok: true, value: value ?? null })}\n`);
  } catch (e) {
    const err = e as { name?: string; code?: string; message?: string; gatewayCode?: number };
    process.stdout.write(
      `${JSON.stringify({ id, ok: false, error: { name: err.name, code: err.code, message: err.message, gatewayCode: err.gatewayCode } })}\n`,
    );
  }
});
rl.on("close", () => {
  for (const c of closers) c();
  void mapper?.close().finally(() => process.exit(0));
  if (!mapper) process.exit(0);
});
