import { isIP } from "node:net";
import { nat } from "p2pd";
import { CliError, type Command, EXIT, flag, intFlag, str, strs, usageError } from "../command.js";

type Method = nat.PortMapMethod;
const METHODS: Method[] = ["pcp", "natpmp", "upnp", "upnp-pinhole"];

function proto(v: string | undefined): nat.PortMapProtocol {
  if (v === undefined) return "tcp";
  if (v !== "tcp" && v !== "udp") throw usageError(`--proto must be tcp or udp, got "${v}"`);
  return v;
}

function portArg(v: string | undefined, what: string): number {
  if (v === undefined) throw usageError(`missing ${what}`);
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535)
    throw usageError(`${what} must be 1..65535, got "${v}"`);
  return Number(v);
}

// Library errors keep their code (ERR_PORTMAP_*, ERR_DOUBLE_NAT); exit code 1.
function failure(e: unknown): never {
  const err = e as { code?: unknown; message?: unknown };
  if (typeof err.code === "string" && err.code.startsWith("ERR_"))
    throw new CliError(err.code, String(err.message));
  throw e;
}

/**
 * `p2pd portmap add|remove|list`. JSON contract: `{ method, external: { ip, port }, ... }` for add and
 * remove (add also: protocol, internal, lifetime, gateway, reachable, reason?); list gives
 * `{ method: "upnp", external: { ip }, mappings: [...] }`.
 */
export const command: Command = {
  name: "portmap",
  summary: "open, remove or list port mappings on the gateway (UPnP IGD, NAT-PMP, PCP)",
  usage:
    "add PORT [--proto tcp|udp] [--lifetime S] [--external-port N] [--hold] | remove PORT [--proto tcp|udp] | list  [--method M] [--gateway IP] [--json]",
  options: {
    proto: { type: "string", arg: "tcp|udp", help: "transport protocol (default tcp)" },
    lifetime: { type: "string", arg: "S", help: "lease in seconds (default 7200)" },
    "external-port": { type: "string", arg: "N", help: "external port to ask for (default PORT)" },
    method: {
      type: "string",
      multiple: true,
      arg: "M",
      help: "pcp, natpmp, upnp or upnp-pinhole, tried in the order given (default pcp, natpmp, upnp; upnp-pinhole for IPv6)",
    },
    gateway: { type: "string", arg: "IP", help: "gateway address (default: the default route)" },
    internal: { type: "string", arg: "IP", help: "internal address to map to (IPv6: a pinhole)" },
    handle: {
      type: "string",
      arg: "H",
      help: "remove: the handle add printed (PCP nonce or pinhole id), needed for PCP and pinholes",
    },
    family: {
      type: "string",
      arg: "4|6",
      help: "6 opens an IPv6 pinhole (PCP or UPnP) instead of a mapping",
    },
    timeout: { type: "string", arg: "MS", help: "per-request deadline in ms (default 2000)" },
    hold: {
      type: "boolean",
      help: "add: keep renewing until interrupted, then remove the mapping",
    },
    verbose: { type: "boolean", short: "v", help: "log each protocol step on stderr" },
  },
  async run(ctx) {
    const [action, portText, ...extra] = ctx.positionals;
    if (extra.length > 0) throw usageError(`unexpected argument "${extra[0]}"`);
    // Check the whole command line before any packet leaves (discovery starts with the mapper).
    if (action !== "add" && action !== "remove" && action !== "list")
      throw usageError(
        `expected add, remove or list, got ${action === undefined ? "nothing" : `"${action}"`}`,
      );
    if (action === "list" && portText !== undefined)
      throw usageError(`unexpected argument "${portText}"`);
    const port = action === "list" ? 0 : portArg(portText, "PORT");
    const protocol = proto(str(ctx, "proto"));
    const lifetime = intFlag(ctx, "lifetime", 1, 0xffffffff);
    const externalText = str(ctx, "external-port");
    const externalPort =
      externalText === undefined ? undefined : portArg(externalText, "--external-port");
    const internal = str(ctx, "internal");
    const familyText = str(ctx, "family");
    if (familyText !== undefined && familyText !== "4" && familyText !== "6")
      throw usageError(`--family must be 4 or 6, got "${familyText}"`);
    const family = familyText === undefined ? undefined : (Number(familyText) as 4 | 6);
    const methods = strs(ctx, "method").flatMap((m) => m.split(","));
    const handle = str(ctx, "handle");
    // A PCP handle is the 24-hex-digit nonce, a pinhole's its decimal UniqueID.
    const handleMethod: Method | undefined =
      handle === undefined
        ? undefined
        : /^[0-9a-f]{24}$/i.test(handle)
          ? "pcp"
          : /^\d+$/.test(handle)
            ? "upnp-pinhole"
            : undefined;
    if (handle !== undefined && !handleMethod)
      throw usageError(`--handle is a PCP nonce (24 hex digits) or a pinhole id, got "${handle}"`);
    for (const m of methods)
      if (!METHODS.includes(m as Method))
        throw usageError(`--method must be one of ${METHODS.join(", ")}, got "${m}"`);
    const timeoutMs = intFlag(ctx, "timeout", 50, 600_000);
    const gateway = str(ctx, "gateway");
    // Checked before anything is sent: a bad --gateway must not turn into SSDP multicast.
    if (gateway !== undefined && isIP(gateway) === 0)
      throw usageError(`--gateway must be an IP address, got "${gateway}"`);
    const mapper = nat.createPortMapper({
      signal: ctx.signal,
      ...(methods.length ? { methods: methods as Method[] } : {}),
      ...(gateway ? { gateway } : {}),
      ...(timeoutMs ? { timeoutMs } : {}),
      ...(flag(ctx, "verbose") ? { log: (l: string) => ctx.progress(l) } : {}),
    });
    try {
      if (action === "add") {
        const m = await mapper
          .add({
            port,
            proto: protocol,
            ...(lifetime ? { lifetime } : {}),
            ...(externalPort ? { externalPort } : {}),
            ...(internal ? { internalAddress: internal } : {}),
            ...(family ? { family } : {}),
          })
          .catch(failure);
        const out = {
          method: m.method,
          protocol: m.protocol,
          external: m.external,
          internal: m.internal,
          lifetime: m.lifetime,
          gateway: m.gateway,
          reachable: m.reachable,
          ...(m.reason ? { reason: m.reason } : {}),
          ...(m.handle ? { handle: m.handle } : {}),
        };
        const warn = m.reachable ? "" : ` (not reachable from the internet: ${m.reason})`;
        ctx.result(
          out,
          `${m.method}: ${m.protocol} ${m.external.ip}:${m.external.port} -> ${m.internal.ip}:${m.internal.port} for ${m.lifetime || "unlimited"} s${warn}`,
        );
        if (!flag(ctx, "hold")) {
          await mapper.close({ removeMappings: false });
          return EXIT.OK;
        }
        ctx.progress("holding the mapping (renewed before it expires); Ctrl-C removes it");
        // Renewal timers are unref'd (a library must not keep a process alive); this one holds it.
        const keepAlive = setInterval(() => {}, 1 << 30);
        await new Promise<void>((resolve) =>
          ctx.signal.addEventListener("abort", () => resolve(), { once: true }),
        );
        clearInterval(keepAlive);
        await mapper.close({ signal: AbortSignal.timeout(5000) });
        return EXIT.INTERRUPTED;
      }
      if (action === "remove") {
        const r = await mapper
          .remove({
            port,
            proto: protocol,
            ...(externalPort ? { externalPort } : {}),
            ...(family ? { family } : {}),
            ...(handle ? { handle, method: handleMethod } : {}),
          })
          .catch(failure);
        const ip =
          r.external.ip ||
          (await mapper.externalAddress().then(
            (a) => a.ip,
            () => undefined,
          ));
        const out = {
          method: r.method,
          removed: true,
          external: { ...(ip ? { ip } : {}), port: r.external.port },
        };
        ctx.result(out, `${r.method}: removed ${ip ?? "?"}:${r.external.port}`);
        return EXIT.OK;
      }
      // list
      {
        const mappings = await mapper.listGateway().catch(failure);
        const ip = await mapper.externalAddress().then(
          (a) => a.ip,
          () => undefined,
        );
        const rows = mappings.map((m) => ({
          protocol: m.protocol,
          external: { ...(ip ? { ip } : {}), port: m.externalPort },
          internal: { ip: m.internalClient, port: m.internalPort },
          lifetime: m.lifetime,
          description: m.description,
          enabled: m.enabled,
        }));
        const human =
          rows.length === 0
            ? "upnp: no mappings"
            : rows
                .map(
                  (r) =>
                    `upnp: ${r.protocol} ${ip ?? "?"}:${r.external.port} -> ${r.internal.ip}:${r.internal.port} ${r.lifetime} s "${r.description}"`,
                )
                .join("\n");
        ctx.result({ method: "upnp", external: { ...(ip ? { ip } : {}) }, mappings: rows }, human);
        return EXIT.OK;
      }
    } finally {
      await mapper.close({ removeMappings: false });
    }
  },
};
