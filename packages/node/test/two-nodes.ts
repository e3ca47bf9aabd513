import { afterAll, beforeAll } from "vitest";
import { type EmbeddedBroker, startBroker } from "../src/broker.js";
import type { StartNodeOptions } from "../src/node/types.js";
import { type P2PNode, startNode } from "../src/node.js";

export interface TwoNodes {
  broker: EmbeddedBroker;
  a: P2PNode;
  b: P2PNode;
}

/**
 * An embedded broker and two loopback nodes on it, `a` then `b`, for the file's tests: `set` gets
 * them once started; they are closed after the file. `a`/`b` add to each node's options.
 */
export function twoNodesForFile(
  set: (n: TwoNodes) => void,
  opts: { a?: StartNodeOptions; b?: StartNodeOptions } = {},
): void {
  const n: Partial<TwoNodes> = {};
  beforeAll(async () => {
    const broker = await startBroker();
    n.broker = broker;
    n.a = await startNode({ interfaces: "loopback", mqtt: broker.url, ...opts.a });
    n.b = await startNode({ interfaces: "loopback", mqtt: broker.url, ...opts.b });
    set(n as TwoNodes);
  });
  afterAll(async () => {
    await n.a?.close();
    await n.b?.close();
    await n.broker?.close();
  });
}
