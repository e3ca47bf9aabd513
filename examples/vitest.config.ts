import { defineProject } from "vitest/config";

export default defineProject({
  // Network safety: probing a bundled public server throws (packages/node/src/servers/guard.ts).
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    env: { P2PD_FORBID_PUBLIC_SERVERS: "1" },
  },
});
