/** N servers tolerate F = floor(0.4 N) faulty ones: writes need N - F, reads need F + 1 agreeing. */
export interface Quorum {
  servers: number;
  registerFailureMax: number;
  registerSuccessMin: number;
  lookupSuccessMin: number;
}

export function quorum(n: number): Quorum {
  const f = Math.floor((2 * n) / 5);
  return { servers: n, registerFailureMax: f, registerSuccessMin: n - f, lookupSuccessMin: f + 1 };
}

/** A decoded topic from one server. */
export interface Vote {
  server: string;
  time: number;
  value: string;
  ids: string[];
}

export interface Decision {
  value: string;
  time: number;
  signer: string;
  servers: string[];
}

/**
 * Group votes by signer id (a server counts once per id), take the largest group (first seen wins a tie)
 * and, when it has at least `need` servers, return its newest value. Undefined when no group is big enough.
 */
export function decide(votes: Vote[], need: number): Decision | undefined {
  const groups = new Map<string, Map<string, Vote>>();
  for (const v of votes) {
    for (const id of new Set(v.ids)) {
      let g = groups.get(id);
      if (!g) {
        g = new Map();
        groups.set(id, g);
      }
      const prev = g.get(v.server);
      if (!prev || v.time > prev.time) g.set(v.server, v);
    }
  }
  let best: [string, Map<string, Vote>] | undefined;
  for (const e of groups) if (!best || e[1].size > best[1].size) best = e;
  if (!best || best[1].size < need) return undefined;
  let newest: Vote | undefined;
  for (const v of best[1].values()) if (!newest || v.time > newest.time) newest = v;
  if (!newest) return undefined;
  return { value: newest.value, time: newest.time, signer: best[0], servers: [...best[1].keys()] };
}
