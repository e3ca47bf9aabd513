import { fileURLToPath } from "node:url";

/** The repo's NAT lab (labs/natlab/lab.ts, outside this package's rootDir), typed for the CLI tests. */
export interface NatLab {
  info: {
    pub: { ip4: string; ip6: string };
    stun: { port: number };
    p2pdStun?: { port: number };
    mqttUrl: string;
  };
  exec(
    node: string,
    cmd: string,
    args?: string[],
    o?: { timeoutMs?: number },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  host(name: string): { ip4: string; publicIp4: string };
  stop(): Promise<void>;
}

export const natLab = (await import(
  new URL("../../../labs/natlab/lab.ts", import.meta.url).href
)) as {
  labAvailable(): string | undefined;
  startLab(s: string[], o: { prefix: string; state: string }): Promise<NatLab>;
};

/** Why the NAT lab cannot run here, or undefined when it can. */
export const noNatLab: string | undefined = natLab.labAvailable();

/** The built CLI, as lab hosts run it. */
export const builtCli = fileURLToPath(new URL("../dist/index.js", import.meta.url));
