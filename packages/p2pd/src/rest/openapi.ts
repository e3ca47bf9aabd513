import { ERROR_BODY, ROUTES, type RouteDef } from "./routes.js";
import { VERSION } from "./version.js";

const ERRORS: Record<string, string> = {
  "400": "bad request (malformed path, name, regex, timeout or body)",
  "401": "missing or wrong bearer token",
  "403": "origin or cross-site request refused",
  "404": "no such route, connection or subscription",
  "409": "connection name already in use",
  "405": "method not allowed on this path",
  "408": "request not received in time",
  "410": "the connection closed while waiting for a message",
  "413": "body too large",
  "421": "Host is not a loopback name (DNS rebinding protection)",
  "431": "request head too large",
  "502": "could not connect to the peer, or sending failed",
  "503": "too many open HTTP connections",
  "504": "no message arrived before the timeout, or connecting timed out",
};

function responseOf(route: RouteDef): Record<string, unknown> {
  const r = route.response;
  if (r === "relay") {
    return {
      "101": { description: "relay starts (when the request had `Upgrade: p2pd-relay`)" },
      default: { description: "without Upgrade: no HTTP answer; raw bytes flow both ways" },
    };
  }
  const content =
    typeof r === "string"
      ? { [r]: { schema: { type: "string", format: "binary" } } }
      : { "application/json": { schema: r } };
  return { "200": { description: "success", content } };
}

/** OpenAPI 3.1 for the REST API, generated from the same route table the server dispatches on. */
export function buildOpenApi(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const op: Record<string, unknown> = {
      operationId: route.id,
      summary: route.summary,
      parameters: route.params.map((p) => ({
        name: p.name,
        in: p.in,
        required: p.in === "path" ? true : (p.required ?? false),
        description: p.description,
        schema: p.schema ?? { type: "string" },
      })),
      responses: {
        ...responseOf(route),
        ...Object.fromEntries(
          Object.entries(ERRORS).map(([code, description]) => [
            code,
            { description, content: { "application/json": { schema: ERROR_BODY } } },
          ]),
        ),
      },
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { [route.body]: { schema: { type: "string", format: "binary" } } },
            },
          }
        : {}),
      ...(route.aliases?.length ? { "x-p2pd-aliases": route.aliases } : {}),
      ...(route.mutating ? { "x-p2pd-mutating": true } : {}),
    };
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method.toLowerCase()] = op;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "p2pd REST API",
      version: VERSION,
      description:
        "Loopback-only API of a p2pd node. Errors use HTTP status codes with a JSON body {error: {code, message}}. The x-p2pd-aliases paths (/p2p/...) answer as P2PD does: always 200, with P2PD's bodies (error: 0 or P2PD's number, msg, code; con_info; client_tup).",
    },
    servers: [{ url: "http://127.0.0.1:12333" }],
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "only when the server has a token" },
      },
    },
    paths,
  };
}
