// Port mapping on the local gateway: UPnP IGD (IPv4 mappings, IPv6 pinholes), NAT-PMP, PCP.

export {
  DoubleNatError,
  PORTMAP_ERROR_CODES,
  PortMapBadResponseError,
  PortMapClosedError,
  PortMapError,
  type PortMapErrorCode,
  PortMapNoGatewayError,
  PortMapRefusedError,
  PortMapTimeoutError,
  PortMapUnsupportedError,
} from "./errors.js";
export {
  defaultGateway,
  defaultGateway6,
  parseProcNetIpv6Route,
  parseProcNetRoute,
} from "./gateway.js";

export { createPortMapper } from "./mapper.js";
export { decodeNatPmpMap, encodeNatPmpMapRequest, type NatPmpMapResult } from "./natpmp.js";
export {
  decodePcpMapResponse,
  encodePcpMapRequest,
  type PcpMapRequest,
  type PcpMapResult,
} from "./pcp.js";
export { judgeExternal, type Reachability } from "./reach.js";
export { buildSoapEnvelope, parseSoapResponse } from "./soap.js";
export { discoverIgd, parseSsdpResponse, type SsdpResponse } from "./ssdp.js";
export type {
  ExternalAddress,
  MapRequest,
  PortMapMethod,
  PortMapProtocol,
  PortMapper,
  PortMapperOptions,
  PortMapping,
} from "./types.js";
export {
  type GenericEntry,
  type IgdDescription,
  parseIgdDescription,
  UpnpGateway,
  type UpnpService,
} from "./upnp.js";
