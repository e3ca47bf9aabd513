import { netifaces, stun } from "p2pd";
import {
  type Command,
  type CommandContext,
  flag,
  intFlag,
  str,
  strs,
  usageError,
} from "../command.js";

type Family = 4 | 6;
type Info = Awaited<ReturnType<typeof netifaces.listInterfaces>>[number];
type Iface = netifaces.Interface;

interface P2pRoute {
  nic: string[];
  ext: string[];
  linkLocals: string[];
}

/** One interface's NIC -> external routes (external side empty unless --resolve). */
function p2pRoutes(i: Iface | undefined): Record<"4" | "6", P2pRoute[]> {
  const out: Record<"4" | "6", P2pRoute[]> = { 4: [], 6: [] };
  if (!i) return out;
  for (const f of [4, 6] as const) {
    out[f] = i.routes(f).map((r) => ({
      nic: r.nicIps.map(String),
      ext: r.extIps.map(String),
      linkLocals: [...r.linkLocals],
    }));
  }
  return out;
}

function human(
  defaults: Partial<Record<Family, { interface: string; gateway: string | null }>>,
  list: (Info & { rp: Record<"4" | "6", P2pRoute[]> })[],
): string {
  const lines: string[] = [];
  for (const f of [4, 6] as const) {
    const d = defaults[f];
    lines.push(
      d
        ? `Default IPv${f}: ${d.interface}${d.gateway ? ` via ${d.gateway}` : " (no gateway)"}`
        : `Default IPv${f}: none`,
    );
  }
  for (const i of list) {
    const isDef = i.isDefault[4] || i.isDefault[6];
    const facts = [i.type, i.up ? "up" : "down"];
    if (i.mtu !== undefined) facts.push(`mtu ${i.mtu}`);
    if (i.mac) facts.push(`mac ${i.mac}`);
    if (i.index !== undefined) facts.push(`index ${i.index}`);
    lines.push("", `${isDef ? "*" : " "} ${i.name} (${facts.join(", ")})`);
    for (const a of i.addresses) {
      const ip = a.scopeId ? `${a.address}%${a.scopeId}` : a.address;
      lines.push(`    IPv${a.family} ${ip}/${a.prefix} (${a.class})`);
    }
    for (const f of [4, 6] as const) {
      const gw = i.gateways[f];
      if (gw !== undefined) {
        lines.push(`    gateway v${f} ${gw ?? "(none)"}${i.isDefault[f] ? " [default]" : ""}`);
      }
      for (const r of i.rp[f]) {
        lines.push(`    route v${f} [${r.nic.join(", ")}] -> [${r.ext.join(", ") || "?"}]`);
      }
    }
  }
  lines.push("", "* = default interface");
  return lines.join("\n");
}

function resolverFor(ctx: CommandContext) {
  const servers = strs(ctx, "stun");
  if (servers.length === 0) {
    throw usageError(
      "--resolve needs at least one --stun HOST[:PORT] (no public server is used implicitly)",
    );
  }
  const minAgree = intFlag(ctx, "min-agree", 1, servers.length) ?? Math.min(2, servers.length);
  return stun.createExternalIpResolver({ servers, minAgree });
}

export const command: Command = {
  name: "interfaces",
  summary: "list network interfaces, the default one, gateways and routes",
  usage: "[NAME] [--resolve --stun HOST[:PORT]...] [--json]",
  options: {
    resolve: {
      type: "boolean",
      help: "look up each interface's external addresses over STUN (default: offline)",
    },
    stun: {
      type: "string",
      multiple: true,
      arg: "HOST[:PORT]",
      help: "STUN server for --resolve",
    },
    "min-agree": {
      type: "string",
      arg: "N",
      help: "with --resolve: servers that must agree (default 2, or 1 with one server)",
    },
    timeout: {
      type: "string",
      arg: "MS",
      help: "with --resolve: cap per interface and family (default 5000)",
    },
  },
  async run(ctx) {
    const [only, ...extra] = ctx.positionals;
    if (extra.length > 0) throw usageError("expected at most one interface NAME");
    const resolve = flag(ctx, "resolve");
    if (!resolve && (strs(ctx, "stun").length > 0 || str(ctx, "min-agree") !== undefined)) {
      throw usageError("--stun and --min-agree only make sense with --resolve");
    }
    const resolveExternalIp = resolve ? resolverFor(ctx) : undefined;
    const timeoutMs = intFlag(ctx, "timeout", 1, 600_000) ?? 5000;
    const signal = ctx.signal;

    let list = await netifaces.listInterfaces({ signal });
    if (only !== undefined) {
      list = list.filter((i) => i.name === only);
      if (list.length === 0) {
        throw new netifaces.P2pdNetError("ERR_NO_SUCH_INTERFACE", `no interface named "${only}"`);
      }
    }
    const defaults = await netifaces.defaultRoutes({ signal });
    const errors: { interface: string; code: string; message: string }[] = [];
    const withRoutes = await Promise.all(
      list.map(async (info) => {
        let iface: Iface | undefined;
        if (!info.internal) {
          if (resolveExternalIp) {
            ctx.progress(`resolving external addresses of ${info.name}...`);
            iface = await netifaces.Interface.start(info.name, {
              resolveExternalIp,
              timeoutMs,
              signal,
            });
            for (const e of iface.errors) {
              const code = (e as { code?: unknown }).code;
              errors.push({
                interface: info.name,
                code: typeof code === "string" ? code : "ERR_UNEXPECTED",
                message: e.message,
              });
            }
          } else {
            iface = await netifaces.Interface.startLocal(info.name, { signal });
          }
        }
        return { ...info, rp: p2pRoutes(iface) };
      }),
    );
    const json = {
      default: {
        4: defaults[4] ?? null,
        6: defaults[6] ?? null,
      },
      resolved: resolve,
      interfaces: withRoutes.map((i) => ({ ...i, default: i.isDefault[4] || i.isDefault[6] })),
      ...(errors.length > 0 ? { errors } : {}),
    };
    ctx.result(json, human(defaults, withRoutes));
    return 0;
  },
};
