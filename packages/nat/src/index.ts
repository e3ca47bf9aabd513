/**
 * @p2pd/nat: NAT type and port-delta classification, port prediction, per-network result cache, and
 * (./portmap) UPnP IGD / NAT-PMP / PCP port mapping.
 */

export { defaultGatewayMac, NatCache, type NatCacheOptions, type NetworkId } from "./cache.js";
export {
  type ChangeOutcome,
  type Classification,
  classifyObservations,
  type Observations,
  type ServerObservation,
} from "./classify.js";
export { classifyDelta, type DeltaOptions, type PortSample } from "./delta.js";
export { type DetectNatOptions, detectNat } from "./detect.js";
export { NAT_ERROR_CODES, NatError, type NatErrorCode } from "./errors.js";
export { type NatInfo, natInfo } from "./info.js";
export { loadNat } from "./load.js";
// Port mapping (UPnP IGD, NAT-PMP, PCP) lives in ./portmap; keep this line.
export * from "./portmap/index.js";
export { type PortPrediction, type PredictOptions, predictMappings, wrap } from "./predict.js";
export {
  hostAddresses,
  type ProbeOptions,
  type ProbeResult,
  type ProbeTiming,
  probeDelta,
  probeNat,
  resolveStunServer,
} from "./probe.js";
export { PUBLIC_RFC5780_SERVERS } from "./servers.js";
export {
  DELTA_CODE,
  DELTA_KINDS,
  type Delta,
  type DeltaKind,
  type Endpoint,
  type Family,
  NAT_TYPE_CODE,
  NAT_TYPES,
  type NatResult,
  type NatType,
} from "./types.js";
export { type NatWire, natFromWire, natToWire } from "./wire.js";
