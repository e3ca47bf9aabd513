import { platform } from "node:os";
import { LinuxProvider } from "./linux.js";
import type { NetInfoProvider } from "./types.js";

/** The provider for the running OS. */
export function defaultProvider(os: string = platform()): NetInfoProvider {
  switch (os) {
    default:
      return new LinuxProvider();
  }
}
