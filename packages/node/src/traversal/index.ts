export { type HostPort, TraversalError, type TraversalErrorCode, TurnError } from "./errors.js";
export { type MessageDuplex, MessageQueue } from "./message-queue.js";
export { TurnClient, type TurnClientOptions } from "./turn-client.js";
export {
  type ChannelData,
  decodeChannelData,
  encodeChannelData,
  type TurnFrame,
  TurnStreamDecoder,
} from "./turn-framing.js";
export { TurnRelayPipe, type TurnRelayPipeOptions, turnRelayPipe } from "./turn-pipe.js";
