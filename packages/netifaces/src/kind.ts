/** Interface kind guessed from its name, as P2PD does (no OS query needed). */
export type InterfaceKind = "ethernet" | "wireless" | "loopback" | "unknown";

export function interfaceKind(name: string): InterfaceKind {
  const n = name.toLowerCase();
  if (n === "lo" || n.startsWith("lo0") || n.includes("loopback")) return "loopback";
  if (/^en\d/.test(n) || /eth|eno|ens|enp|enx|ethernet/.test(n)) return "ethernet";
  if (n.startsWith("wl") || /wlp|wireless|wlan|wifi|wi-fi/.test(n)) return "wireless";
  return "unknown";
}
