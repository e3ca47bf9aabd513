import { platform } from "node:os";
import { BsdProvider } from "./bsd.js";
import { LinuxProvider } from "./linux.js";
import type { NetInfoProvider } from "./types.js";
import { WindowsProvider } from "./windows.js";

/** The provider for the running OS (procfs on Linux, command output elsewhere). */
export function defaultProvider(os: string = platform()): NetInfoProvider {
  switch (os) {
    case "win32":
      return new WindowsProvider();
    case "darwin":
    case "freebsd":
    case "openbsd":
    case "netbsd":
      return new BsdProvider(os);
    default:
      return new LinuxProvider();
  }
}
