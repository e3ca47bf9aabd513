import { request } from "node:http";
import { PortMapBadResponseError, PortMapNoGatewayError } from "./errors.js";

export interface HttpResult {
  status: number;
  body: string;
  /** Our address on the connection: the "internal client" a UPnP mapping must name. */
  localAddress: string;
}

const MAX_BODY = 1 << 20;

/** One plain HTTP/1.1 exchange with a size cap; the signal bounds it. */
export function httpRequest(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    signal: AbortSignal;
  },
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch (e) {
      return reject(new PortMapBadResponseError(`bad URL ${url}`, { cause: e }));
    }
    if (u.protocol !== "http:") return reject(new PortMapBadResponseError(`not http: ${url}`));
    const body = options.body === undefined ? undefined : Buffer.from(options.body, "utf8");
    const req = request(
      u,
      {
        method: options.method ?? "GET",
        agent: false,
        signal: options.signal,
        headers: {
          ...(options.headers ?? {}),
          ...(body ? { "content-length": String(body.length) } : {}),
          connection: "close",
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const localAddress = res.socket?.localAddress ?? "";
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY) {
            req.destroy(new PortMapBadResponseError("HTTP: answer too large"));
            return;
          }
          chunks.push(c);
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            localAddress: localAddress.replace(/^::ffff:/, ""),
          }),
        );
        // A gateway hanging up mid-answer ("aborted", ECONNRESET) is a bad answer, not a crash.
        res.on("error", (e) =>
          reject(
            e instanceof PortMapBadResponseError || options.signal.aborted
              ? e
              : new PortMapBadResponseError(`HTTP ${u.host}: answer cut short (${e.message})`, {
                  cause: e,
                }),
          ),
        );
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (e instanceof PortMapBadResponseError || options.signal.aborted) return reject(e);
      if (e.code === "ECONNREFUSED" || e.code === "EHOSTUNREACH" || e.code === "ENETUNREACH")
        return reject(new PortMapNoGatewayError(`HTTP ${u.host}: ${e.code}`, { cause: e }));
      reject(new PortMapBadResponseError(`HTTP ${u.host}: ${e.message}`, { cause: e }));
    });
    req.end(body);
  });
}
