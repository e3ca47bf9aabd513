export type { Endpoint, Family, RouteLike } from "@p2pd/netifaces";
export type { BindSpec, DestLike } from "./address.js";
export {
  Daemon,
  type DaemonOptions,
  type DaemonServer,
  type DaemonTarget,
  type ListenAllOptions,
} from "./daemon.js";
export { isPipeError, PIPE_ERROR_CODES, PipeError, type PipeErrorCode } from "./errors.js";
export {
  type CustomFramer,
  createDecoder,
  createEncoder,
  type Decoder,
  type Encoder,
  type Framing,
} from "./framing.js";
export { link } from "./link.js";
export { MessagePipe, type MessageTransport } from "./message.js";
export { openPipe, pipeOpen, type RouteArg } from "./open.js";
export type { ConnectionCb, EndCb, MsgCb, PipeOptions } from "./options.js";
export {
  type Interceptor,
  Pipe,
  type PipeEvents,
  type PipeKind,
  type PipePeer,
  type Proto,
  type RecvOptions,
  type SendOptions,
} from "./pipe.js";
export { type PortsLike, parsePorts } from "./ports.js";
export { decodeRudp, encodeRudp } from "./reliable.js";
export { StreamPipe } from "./stream.js";
export {
  type Message,
  type OverflowPolicy,
  type Pattern,
  SUB_ALL,
  type SubLike,
  type SubscribeOptions,
  Subscription,
} from "./subscription.js";
export { TcpPipe, TcpServerPipe } from "./tcp.js";
export { MAX_UDP_PAYLOAD, UdpPipe } from "./udp.js";
export {
  type WrapOptions,
  wrapMessages,
  wrapSocket,
  wrapStream,
  wrapUdpSocket,
} from "./wrap.js";
