import type { Endpoint, NatType } from "./types.js";

/** What a CHANGE-REQUEST probe saw. */
export type ChangeOutcome =
  /** A response arrived from the address the change asks for (it passed the NAT's filter). */
  | "answered"
  /** Nothing arrived before the deadline. */
  | "silent"
  /** A response arrived from an address the change did not ask for: the server ignores CHANGE-REQUEST. */
  | "wrong-source";

/** Everything one STUN server told us (pure data; the probing lives in probe.ts). */
export interface ServerObservation {
  /** The server as configured: "host:port". */
  server: string;
  /** Primary address answered at. */
  primary: Endpoint;
  /** RFC 5780 OTHER-ADDRESS (or RFC 3489 CHANGED-ADDRESS), when the server sent one. */
  other?: Endpoint;
  /** Filtering socket: mapped address of a plain binding to the primary. */
  filterMapped?: Endpoint;
  /** Filtering socket, CHANGE-REQUEST(ip+port) sent to the primary. */
  changeBoth?: ChangeOutcome;
  /** Filtering socket, CHANGE-REQUEST(port) sent to the primary. */
  changePort?: ChangeOutcome;
  /** Mapping socket (shared by all servers): mapped address seen by the primary. */
  mapPrimary?: Endpoint;
  /** Mapping socket: mapped address seen at the alternate IP (primary port). */
  mapAlternate?: Endpoint;
  /** Round trip of the first answer, ms. */
  rttMs?: number;
}

export interface Observations {
  /** Addresses of this host's interfaces (same family): mapped == one of these => no NAT. */
  localAddresses: readonly string[];
  /** Local port of the shared mapping socket. */
  mapLocalPort: number;
  /** Local port of each server's filtering socket, same order as `servers`. */
  filterLocalPorts?: readonly number[];
  servers: readonly ServerObservation[];
}

export interface Classification {
  type: NatType | "unknown";
  reason?: string;
  /** Servers whose answers were set aside, and why. */
  ignored: { server: string; why: string }[];
  /** Servers whose answers were used. */
  trusted: string[];
  /** Distinct mapped addresses from trusted servers. */
  mapped: Endpoint[];
}

type Mapping = "none" | "eim" | "dependent";
type Filtering = "eif" | "adf" | "apdf";

/**
 * Decides the NAT type from probe results (pure). Never trusts one server against the others: a server
 * reporting another external IP than the majority, or mappings that contradict the majority, is set aside;
 * without a majority the answer is `unknown` with a reason. Filtering is the most permissive verdict among
 * servers that honour CHANGE-REQUEST, since a reply can only arrive if the NAT let it through.
 */
export function classifyObservations(obs: Observations): Classification {
  const ignored: { server: string; why: string }[] = [];
  let servers = obs.servers.filter((s) => {
    const answered = s.filterMapped ?? s.mapPrimary ?? s.mapAlternate;
    if (!answered) ignored.push({ server: s.server, why: "no answer" });
    return answered !== undefined;
  });
  const done = (
    type: Classification["type"],
    reason?: string,
    set: readonly ServerObservation[] = servers,
  ): Classification => {
    const r: Classification = {
      type,
      ignored,
      trusted: set.map((s) => s.server),
      mapped: distinct(set.flatMap((s) => [s.mapPrimary, s.mapAlternate, s.filterMapped])),
    };
    if (reason) r.reason = reason;
    return r;
  };
  if (servers.length === 0) return done("blocked");

  // 1. External IP: every server must see the same one (one NAT, one public address).
  const ipVotes = new Map<string, ServerObservation[]>();
  for (const s of servers) {
    const ips = new Set(reported(s).map((e) => e.host));
    const key = ips.size === 1 ? [...ips][0] : `*${s.server}`; // a server contradicting itself votes alone
    ipVotes.set(key ?? "", [...(ipVotes.get(key ?? "") ?? []), s]);
  }
  if (ipVotes.size > 1) {
    const ranked = [...ipVotes.entries()].sort((x, y) => y[1].length - x[1].length);
    const [top, second] = ranked;
    if (!top || (second && second[1].length === top[1].length) || top[0].startsWith("*")) {
      return done(
        "unknown",
        `STUN servers disagree about the external address (${ranked.map((r) => `${r[1].map((s) => s.server).join(",")} say ${r[0].replace(/^\*.*/, "several")}`).join("; ")})`,
        [], // no majority: nobody is trusted, so no mapped address and no delta either
      );
    }
    for (const [ip, list] of ranked.slice(1)) {
      for (const s of list) {
        ignored.push({
          server: s.server,
          why: `reported external address ${ip.startsWith("*") ? "(several)" : ip}, the majority saw ${top[0]}`,
        });
      }
    }
    servers = top[1];
  }

  // 2. Mapping behaviour, from the shared mapping socket.
  const mapping = decideMapping(obs, servers, ignored);
  if (typeof mapping === "string") {
    // "!": the servers contradict each other (trust none); "?": too little data (no contradiction).
    return done("unknown", mapping.slice(1), mapping.startsWith("!") ? [] : servers);
  }
  const { kind, set } = mapping as { kind: Mapping; set: ServerObservation[] };
  servers = set;
  if (kind === "dependent") return done("symmetric");

  // 3. Filtering, from each server's own filtering socket (it only ever talked to that primary).
  const filtering = decideFiltering(servers, ignored);
  if (filtering === undefined) {
    const what = kind === "none" ? "open internet or UDP firewall" : "which cone type";
    const why = servers.some((s) => s.other)
      ? "no server answered the CHANGE-REQUEST tests correctly"
      : "no server supports RFC 5780 (no OTHER-ADDRESS)";
    return done("unknown", `${why}: cannot tell ${what}`);
  }
  if (kind === "none") return done(filtering === "eif" ? "open-internet" : "udp-firewall");
  return done(
    filtering === "eif"
      ? "full-cone"
      : filtering === "adf"
        ? "restricted-cone"
        : "port-restricted-cone",
  );
}

function decideMapping(
  obs: Observations,
  servers: ServerObservation[],
  ignored: { server: string; why: string }[],
): { kind: Mapping; set: ServerObservation[] } | string {
  // Per server: does the mapping stay the same towards its other IP?
  const verdict = (s: ServerObservation): boolean | undefined =>
    s.mapPrimary && s.mapAlternate ? same(s.mapPrimary, s.mapAlternate) : undefined;
  const withPrimary = servers.filter((s) => s.mapPrimary);
  const comparisons = withPrimary.length + servers.filter((s) => verdict(s) !== undefined).length;
  if (withPrimary.length === 0 || comparisons < 2) {
    return "?cannot compare mappings: need an RFC 5780 server (OTHER-ADDRESS) or two servers answering";
  }
  // Group servers by what the mapping socket looked like to them; an EIM NAT puts everyone in one group.
  const groups = new Map<string, ServerObservation[]>();
  for (const s of withPrimary) {
    const k = key(s.mapPrimary as Endpoint);
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  const eimVotes = withPrimary.filter((s) => verdict(s) === true);
  const depVotes = withPrimary.filter((s) => verdict(s) === false);
  const allDistinct = groups.size === withPrimary.length;
  if (groups.size === 1 && depVotes.length === 0) {
    const [m] = [...groups.values()][0] ?? [];
    const local =
      m?.mapPrimary !== undefined &&
      m.mapPrimary.port === obs.mapLocalPort &&
      obs.localAddresses.includes(m.mapPrimary.host);
    return { kind: local ? "none" : "eim", set: servers };
  }
  // Endpoint-dependent: every destination saw another mapping. A server's own primary/alternate pair is
  // needed (or three servers), else a single lying server could fake it.
  if (allDistinct && eimVotes.length === 0 && (depVotes.length > 0 || withPrimary.length > 2)) {
    return { kind: "dependent", set: servers };
  }
  // Mixed answers: accept a strict majority group that is itself consistent (EIM); else give up.
  const ranked = [...groups.values()].sort((a, b) => b.length - a.length);
  const top = ranked[0] ?? [];
  if (
    top.length * 2 > withPrimary.length &&
    top.every((s) => verdict(s) !== false) &&
    eimVotes.length > depVotes.length
  ) {
    for (const g of ranked.slice(1)) {
      for (const s of g)
        ignored.push({ server: s.server, why: "mapped port contradicts the majority" });
    }
    const keep = new Set(top);
    const first = top[0]?.mapPrimary as Endpoint;
    const local = first.port === obs.mapLocalPort && obs.localAddresses.includes(first.host);
    return {
      kind: local ? "none" : "eim",
      set: servers.filter((s) => keep.has(s) || !s.mapPrimary),
    };
  }
  return `!STUN servers contradict each other about the mapping (${withPrimary
    .map(
      (s) =>
        `${s.server}: ${verdict(s) === undefined ? "?" : verdict(s) ? "same" : "changes"} ${key(s.mapPrimary as Endpoint)}`,
    )
    .join("; ")})`;
}

function decideFiltering(
  servers: ServerObservation[],
  ignored: { server: string; why: string }[],
): Filtering | undefined {
  let best: Filtering | undefined;
  const rank = { apdf: 0, adf: 1, eif: 2 } as const;
  for (const s of servers) {
    if (!s.other || !s.filterMapped) continue;
    if (s.changeBoth === "wrong-source" || s.changePort === "wrong-source") {
      ignored.push({ server: s.server, why: "answers CHANGE-REQUEST from the wrong address" });
      continue;
    }
    if (s.changeBoth === undefined || s.changePort === undefined) continue;
    const v: Filtering =
      s.changeBoth === "answered" ? "eif" : s.changePort === "answered" ? "adf" : "apdf";
    if (best === undefined || rank[v] > rank[best]) best = v;
  }
  return best;
}

function reported(s: ServerObservation): Endpoint[] {
  return [s.filterMapped, s.mapPrimary, s.mapAlternate].filter((e): e is Endpoint => !!e);
}

function same(a: Endpoint, b: Endpoint): boolean {
  return a.host === b.host && a.port === b.port;
}

function key(e: Endpoint): string {
  return e.host.includes(":") ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

function distinct(list: (Endpoint | undefined)[]): Endpoint[] {
  const seen = new Map<string, Endpoint>();
  for (const e of list) if (e && !seen.has(key(e))) seen.set(key(e), e);
  return [...seen.values()];
}
