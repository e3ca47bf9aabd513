import { type EmbeddedBroker, startBroker } from "../broker.js";
import { MqttSignaling, type SignalingTransport } from "../signaling.js";
import type { StartNodeOptions } from "./types.js";

/**
 * The signaling transport the options ask for: a custom one, MQTT to the given brokers, or (no
 * brokers) an in-process broker for offline use. Not started yet; the broker is.
 */
export async function makeTransport(
  opts: StartNodeOptions,
  nodeId: string,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<{ transport: SignalingTransport; broker?: EmbeddedBroker }> {
  if (opts.transport) return { transport: opts.transport };
  let broker: EmbeddedBroker | undefined;
  let brokers = typeof opts.mqtt === "string" ? [opts.mqtt] : opts.mqtt;
  if (!brokers || brokers.length === 0) {
    broker = await startBroker({ signal });
    brokers = [broker.url];
  }
  const transport = new MqttSignaling({
    brokers,
    nodeId,
    log,
    ...(opts.mqttTimeoutMs ? { connectTimeoutMs: opts.mqttTimeoutMs } : {}),
  });
  return { transport, ...(broker ? { broker } : {}) };
}
