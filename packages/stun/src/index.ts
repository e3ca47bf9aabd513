// @p2pd/stun: STUN codec, client and RFC 5780 server. Standalone: Node builtins only.

export {
  type BindingResult,
  type ClientOptions,
  getMappedAddress,
  type OneShotOptions,
  type RequestOptions,
  type RetransmitOptions,
  StunClient,
  type StunResponse,
  stunRequest,
} from "./client.js";
export {
  type DecodeOptions,
  decodeMessage,
  type EncodeOptions,
  encodeMessage,
  isStunMessage,
  longTermKey,
  saslPrep,
  shortTermKey,
  verifyIntegrity,
} from "./codec.js";
export {
  createExternalIpResolver,
  type ExternalAddressOptions,
  type ExternalAddressResult,
  getExternalAddress,
  type ResolveExternalIpOptions,
  resolveExternalIp,
  type ServerResult,
} from "./consensus.js";
export {
  ATTR,
  CHANGE_IP,
  CHANGE_PORT,
  DEFAULT_PORT,
  MAGIC_COOKIE,
  METHOD,
  type StunClass,
} from "./constants.js";
export { formatEndpoint, parseHostPort, type StunEndpoint } from "./endpoint.js";
export { isStunError, STUN_ERROR_CODES, StunError, type StunErrorCode } from "./errors.js";
export { StunFramer, type StunFraming } from "./framing.js";
export {
  newTransactionId,
  type StunAttribute,
  StunMessage,
  type StunMessageInit,
} from "./message.js";
export {
  StunServer,
  type StunServerEndpoint,
  type StunServerOptions,
  type StunServerStats,
} from "./server.js";
export { PUBLIC_STUN_SERVERS } from "./servers.js";
export { resolveServer, type StunServerAddress } from "./sockets.js";
export {
  type CloseListener,
  createTcpTransport,
  createUdpTransport,
  type MessageListener,
  type StunTransport,
  type TcpTransportOptions,
  type UdpTransportOptions,
} from "./transport.js";
