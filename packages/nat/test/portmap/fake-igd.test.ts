// UPnP IGD services miniupnpd cannot impersonate (WANPPPConnection, a v1-only WANIPConnection),
// and HTTP/SOAP answers it never sends, served by a small IGD on 127.0.0.1: which service gets
// each SOAP action, and typed errors for anything malformed (fuzzed through the real HTTP path).
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import { isIP } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterEach, describe, expect, test } from "vitest";
import { createPortMapper, PortMapError, UpnpGateway } from "../../src/portmap/index.js";

const fault714 = readFileSync(
  join(dirname(fileURLToPath(import.meta.url)), "vectors/soap-fault-714.xml"),
  "utf8",
);

interface Call {
  path: string;
  soapAction: string;
  action: string;
  args: Record<string, string>;
}

type Reply = { status: number; body: string };

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const ok = (action: string, out: Record<string, string | number> = {}): Reply => ({
  status: 200,
  body: `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:${action}Response xmlns:u="x">${Object.entries(
    out,
  )
    .map(([k, v]) => `<${k}>${v}</${k}>`)
    .join("")}</u:${action}Response></s:Body></s:Envelope>`,
});

/**
 * An IGD offering `services` (service type -> control path). SOAP actions are recorded;
 * `answer` may override any reply (default: a well-behaved gateway with no mappings).
 */
async function fakeIgd(
  services: Record<string, string>,
  answer?: (c: Call) => Reply | undefined,
): Promise<{ location: string; calls: Call[] }> {
  const calls: Call[] = [];
  const description = `<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType><deviceList><device><deviceList><device><serviceList>${Object.entries(
    services,
  )
    .map(
      ([type, path]) =>
        `<service><serviceType>${type}</serviceType><controlURL>${path}</controlURL></service>`,
    )
    .join("")}</serviceList></device></deviceList></device></deviceList></device></root>`;
  const server = createServer(async (req: IncomingMessage, res) => {
    let body = "";
    for await (const c of req) body += c;
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "text/xml" }).end(description);
      return;
    }
    const soapAction = String(req.headers.soapaction ?? "");
    const action = /#(\w+)"?$/.exec(soapAction)?.[1] ?? "";
    const args: Record<string, string> = {};
    for (const m of body.matchAll(/<(New\w+|\w+)>([^<]*)<\/\1>/g))
      args[m[1] as string] = m[2] ?? "";
    const call = { path: req.url ?? "", soapAction, action, args };
    calls.push(call);
    const r =
      answer?.(call) ??
      (action === "GetExternalIPAddress"
        ? ok(action, { NewExternalIPAddress: "11.11.11.1" })
        : action === "GetSpecificPortMappingEntry"
          ? { status: 500, body: fault714 }
          : ok(action));
    res.writeHead(r.status, { "content-type": 'text/xml; charset="utf-8"' }).end(r.body);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return { location: `http://127.0.0.1:${port}/rootDesc.xml`, calls };
}

/** A UPnP-only mapper whose IGD description is served by `handler` on 127.0.0.1. */
async function mapperAt(handler: RequestListener) {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return createPortMapper({ upnpLocation: `http://127.0.0.1:${port}/d.xml`, methods: ["upnp"] });
}

const IP1 = "urn:schemas-upnp-org:service:WANIPConnection:1";
const IP2 = "urn:schemas-upnp-org:service:WANIPConnection:2";
const PPP1 = "urn:schemas-upnp-org:service:WANPPPConnection:1";
const PPP2 = "urn:schemas-upnp-org:service:WANPPPConnection:2";

describe("UPnP services on a loopback IGD", () => {
  for (const [name, services, used] of [
    ["WANIPConnection:1", { [IP1]: "/ctl/ip1" }, IP1],
    ["WANIPConnection:2", { [IP2]: "/ctl/ip2", [IP1]: "/ctl/ip1" }, IP2],
    ["WANPPPConnection:1", { [PPP1]: "/ctl/ppp1" }, PPP1],
    ["WANPPPConnection:2", { [PPP1]: "/ctl/ppp1", [PPP2]: "/ctl/ppp2" }, PPP2],
    ["WANIPConnection over WANPPPConnection", { [PPP1]: "/ctl/ppp1", [IP1]: "/ctl/ip1" }, IP1],
  ] as const)
    test(`${name}: Add/GetSpecific/Delete go to ${used.split(":").slice(-2).join(":")}`, async () => {
      const igd = await fakeIgd(services);
      const path = (services as Record<string, string>)[used];
      const m = createPortMapper({ upnpLocation: igd.location, methods: ["upnp"] });
      const got = await m.add({ port: 40000, proto: "udp", lifetime: 300 });
      expect(got).toMatchObject({
        method: "upnp",
        protocol: "udp",
        external: { ip: "11.11.11.1", port: 40000 },
        internal: { ip: "127.0.0.1", port: 40000 },
        lifetime: 300,
      });
      await m.remove({ port: 40000, proto: "udp" });
      await m.close();
      expect(igd.calls.map((c) => c.action)).toEqual([
        "GetExternalIPAddress",
        "GetSpecificPortMappingEntry",
        "AddPortMapping",
        "DeletePortMapping",
      ]);
      for (const c of igd.calls) {
        expect(c.path).toBe(path);
        expect(c.soapAction).toBe(`"${used}#${c.action}"`);
      }
      expect(igd.calls[2]?.args).toMatchObject({
        NewExternalPort: "40000",
        NewProtocol: "UDP",
        NewInternalPort: "40000",
        NewInternalClient: "127.0.0.1",
        NewEnabled: "1",
        NewLeaseDuration: "300",
      });
      expect(igd.calls[3]?.args).toMatchObject({ NewExternalPort: "40000", NewProtocol: "UDP" });
    });

  test("725 OnlyPermanentLeasesSupported (IGD v1 routers): retried with lease 0, reported permanent", async () => {
    const igd = await fakeIgd({ [PPP1]: "/ctl/ppp1" }, (c) =>
      c.action === "AddPortMapping" && c.args.NewLeaseDuration !== "0"
        ? {
            status: 500,
            body: fault714
              .replace("714", "725")
              .replace("NoSuchEntryInArray", "OnlyPermanentLeasesSupported"),
          }
        : undefined,
    );
    const m = createPortMapper({ upnpLocation: igd.location, methods: ["upnp"] });
    const got = await m.add({ port: 40001, proto: "tcp", lifetime: 300 });
    expect(got.lifetime).toBe(0);
    expect(got.expiresAt).toBeUndefined();
    expect(
      igd.calls.filter((c) => c.action === "AddPortMapping").map((c) => c.args.NewLeaseDuration),
    ).toEqual(["300", "0"]);
    await m.close({ removeMappings: false });
  });

  test("GetSpecificPortMappingEntry decodes an entry; a bad port in it is ERR_PORTMAP_BAD_RESPONSE", async () => {
    let internalPort = "40002";
    const igd = await fakeIgd({ [PPP1]: "/ctl/ppp1" }, (c) =>
      c.action === "GetSpecificPortMappingEntry"
        ? ok(c.action, {
            NewInternalPort: internalPort,
            NewInternalClient: "192.168.1.20",
            NewEnabled: 1,
            NewLeaseDuration: 77,
          })
        : undefined,
    );
    const gw = await UpnpGateway.fromLocation(igd.location);
    expect(
      await gw.getSpecificPortMappingEntry(40002, "tcp", { signal: AbortSignal.timeout(5000) }),
    ).toEqual({
      internalPort: 40002,
      internalClient: "192.168.1.20",
      enabled: true,
      lifetime: 77,
    });
    internalPort = "70000";
    await expect(gw.getSpecificPortMappingEntry(40002, "tcp")).rejects.toMatchObject({
      code: "ERR_PORTMAP_BAD_RESPONSE",
    });
  });

  test("fuzz: whatever the IGD answers to a SOAP action, add() settles with a PortMapError", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GetExternalIPAddress", "GetSpecificPortMappingEntry", "AddPortMapping"),
        fc.constantFrom(200, 400, 500, 501),
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc
            .tuple(fc.nat(fault714.length), fc.nat(30), fc.string({ maxLength: 10 }))
            .map(([at, cut, ins]) => fault714.slice(0, at) + ins + fault714.slice(at + cut)),
          fc
            .string({ maxLength: 30 })
            .map((v) => ok("GetExternalIPAddress", { NewExternalIPAddress: v }).body),
        ),
        async (action, status, body) => {
          const igd = await fakeIgd({ [IP1]: "/ctl" }, (c) =>
            c.action === action ? { status, body } : undefined,
          );
          const m = createPortMapper({ upnpLocation: igd.location, methods: ["upnp"] });
          try {
            const got = await m.add({ port: 40003, proto: "tcp", lifetime: 60 });
            expect(isIP(got.external.ip)).toBeGreaterThan(0);
          } catch (e) {
            expect(e).toBeInstanceOf(PortMapError);
          } finally {
            await m.close({ removeMappings: false });
            await new Promise((r) => servers.pop()?.close(r));
          }
        },
      ),
      { numRuns: 150 },
    );
  }, 60_000);

  test("malformed or hostile descriptions: typed errors, never a crash", async () => {
    for (const [status, body, code] of [
      [404, "nope", "ERR_PORTMAP_BAD_RESPONSE"],
      [200, "<root><device>", "ERR_PORTMAP_BAD_RESPONSE"],
      [200, "<!DOCTYPE x [<!ENTITY a 'a'>]><root/>", "ERR_PORTMAP_BAD_RESPONSE"],
      [
        200,
        `<root><serviceList><service><serviceType>${IP1}</serviceType><controlURL>file:///etc/passwd</controlURL></service></serviceList></root>`,
        "ERR_PORTMAP_BAD_RESPONSE",
      ],
    ] as const) {
      const m = await mapperAt((_q, res) => res.writeHead(status).end(body));
      await expect(m.add({ port: 40004 })).rejects.toMatchObject({ code });
      await m.close();
    }
  });

  test("an IGD that hangs up mid-answer, sends too much, or closes at once: ERR_PORTMAP_BAD_RESPONSE", async () => {
    for (const mode of ["cut", "huge", "hangup"] as const) {
      const m = await mapperAt((_q, res) => {
        if (mode === "hangup") return void res.socket?.destroy();
        res.writeHead(200, { "content-length": "100000000" });
        res.on("error", () => {});
        if (mode === "cut") {
          res.write("<root><device>");
          setTimeout(() => res.socket?.destroy(), 50);
          return;
        }
        const chunk = Buffer.alloc(1 << 16, 0x41);
        const pump = (): void => {
          while (res.write(chunk));
        };
        res.on("drain", pump);
        pump();
      });
      await expect(m.add({ port: 40005 }), mode).rejects.toMatchObject({
        code: "ERR_PORTMAP_BAD_RESPONSE",
      });
      await m.close();
      for (const server of servers) server.closeAllConnections();
    }
  });
});
