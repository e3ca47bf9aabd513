import { defineConfig } from "tsup";

/** The build every published package shares: ESM + CJS + .d.ts/.d.cts for Node 20. */
export const libraryConfig = defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  // tsup 8.5 passes `baseUrl` to the dts build; TypeScript 6 rejects it (TS5101) unless silenced.
  dts: { compilerOptions: { ignoreDeprecations: "6.0" } },
  sourcemap: true,
  clean: true,
  target: "node20",
  platform: "node",
});
