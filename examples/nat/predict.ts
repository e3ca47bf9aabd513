// Port prediction from a NAT type and delta (pure, no network): what a hole-punching peer would announce.
import { natInfo, predictMappings } from "@p2pd/nat";

export default async function main(_signal: AbortSignal): Promise<void> {
  // A symmetric NAT that hands out external ports one after the other (delta independent, +1):
  const sequential = natInfo("symmetric", { kind: "independent", value: 1 });
  console.log(`hard: ${sequential.isHard}, concurrent punching safe: ${sequential.isConcurrent}`);
  // The last mapping STUN reported was local 51000 -> external 40007, so the next ones are 40008, 40009...
  const next = predictMappings(sequential, { last: { local: 51000, mapped: 40007 }, count: 3 });
  console.log(`next external ports: ${next.map((p) => p.mapped).join(", ")}`);

  // A port-preserving cone NAT maps a local port to the same external port.
  const cone = natInfo("port-restricted-cone", { kind: "equal", value: 0 });
  console.log(predictMappings(cone, { wanted: [45000] }));
}
