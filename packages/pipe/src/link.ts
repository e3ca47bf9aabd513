import type { Pipe } from "./pipe.js";

/**
 * Relays both ways: what `a` receives is sent down `b` and vice versa (P2PD's add_pipe twice).
 * No loop: relayed data is sent, not re-injected. Ends when either pipe closes; returns an unlinker.
 */
export function link(a: Pipe, b: Pipe): () => void {
  const offAB = a.relayTo(b);
  const offBA = b.relayTo(a);
  const unlink = () => {
    offAB();
    offBA();
    offEndA();
    offEndB();
  };
  const offEndA = a.onEnd(unlink);
  const offEndB = b.onEnd(unlink);
  return unlink;
}
