import type { node as p2p } from "p2pd";

/** One bar character per outcome: the winner stands out, a skipped strategy is a dot. */
const MARK: Record<p2p.AttemptOutcome, string> = {
  won: "#",
  failed: "x",
  lost: "-",
  "gave-up": "~",
  skipped: ".",
};

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(1) : String(Math.round(ms)));

/**
 * A connect attempt's timeline as text (`p2pd connect --verbose`): one line per strategy with a
 * bar on a shared time axis, its start and end (ms since the connect began), how long it took,
 * and how it ended (the code and reason for the ones that did not win).
 */
export function formatTimeline(timeline: readonly p2p.TimelineEntry[], width = 32): string[] {
  if (timeline.length === 0) return ["timeline: no strategy ran"];
  const span = Math.max(1e-9, ...timeline.map((t) => t.endMs));
  const name = Math.max(8, ...timeline.map((t) => t.strategy.length));
  const col = (ms: number) => Math.min(width - 1, Math.floor((ms / span) * width));
  const lines = [
    `timeline (ms since the connect began; ${MARK.won} won, ${MARK.failed} failed, ${MARK.lost} lost the race, ${MARK["gave-up"]} gave up, ${MARK.skipped} skipped):`,
  ];
  for (const t of timeline) {
    const from = col(t.startMs);
    const to = Math.max(from, col(t.endMs));
    const bar = " ".repeat(from) + MARK[t.outcome].repeat(to - from + 1);
    const took = t.outcome === "skipped" ? "" : `${fmt(t.endMs - t.startMs)} ms`;
    const why = t.outcome === "won" ? "" : ` ${t.code ?? ""}${t.message ? `: ${t.message}` : ""}`;
    lines.push(
      `  ${t.strategy.padEnd(name)} |${bar.padEnd(width)}| ${fmt(t.startMs).padStart(6)} -> ${fmt(t.endMs).padStart(6)} ms ${took.padStart(9)}  ${t.outcome}${why}`,
    );
  }
  return lines;
}
