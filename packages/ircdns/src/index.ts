export { A36, A62, A92, baseDecode, baseEncode } from "./crypto/base-n.js";
export {
  type Account,
  type ChannelInfo,
  cacheFileName,
  checkSeed,
  deriveAccount,
  deriveChannel,
  deriveChanPassword,
  deriveSigningKey,
  deriveTimeLock,
  MIN_SEED_BYTES,
} from "./derive.js";
export * from "./errors.js";
export { IRCDNS } from "./ircdns.js";
export { checkValue, type Name, type NameInput, parseName } from "./names.js";
export { type Decision, decide, type Quorum, quorum, type Vote } from "./quorum.js";
// The options and results of IRCDNS's operations (types only).
export type * from "./results.js";
export {
  DEFAULT_SERVERS,
  parseServer,
  parseServerList,
  type ServerInput,
  type ServerSpec,
} from "./servers.js";
export { LINE_TOPIC_CAP } from "./store.js";
export {
  maxTopicLength,
  maxValueBytes,
  type PackOptions,
  packTopic,
  signerId,
  type TopicRecord,
  unpackTopic,
} from "./topic.js";
