import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The repo's IRC lab (labs/irc-lab/lab.ts, outside this package's rootDir), typed for the CLI tests. */
export interface IrcLab {
  dir: string;
  serverList: string;
  stop(): Promise<void>;
}

const labTs = join(dirname(fileURLToPath(import.meta.url)), "../../../labs/irc-lab/lab.ts");
export const ircLab = (await import(pathToFileURL(labTs).href)) as {
  labMissing(): string | undefined;
  startLab(o: { dir: string; portOffset: number }): Promise<IrcLab>;
};

/** Why the IRC lab cannot run here, or undefined when it can. */
export const noLab: string | undefined =
  ircLab.labMissing() ?? (process.getuid?.() === 0 ? undefined : "needs root");

/**
 * A lab directory and port offset of our own, per process and per test file (`slot` 0-99).
 * Negative offsets keep every port below the ephemeral range (labs/irc-lab/README.md).
 */
export function labSlot(name: string, slot: number): { dir: string; portOffset: number } {
  return {
    dir: join(tmpdir(), `ircdns-lab-nd-${name}-${process.pid}`),
    portOffset: -12000 - (process.pid % 30) * 100 + slot,
  };
}
