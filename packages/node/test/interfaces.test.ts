import { networkInterfaces } from "node:os";
import { defaultRoutes } from "@p2pd/netifaces";
import { describe, expect, test } from "vitest";
import { LOOPBACK, resolveInterfaces } from "../src/interfaces.js";

describe("which interfaces a node listens on", () => {
  test('"auto": the NIC with the default route first (as @p2pd/netifaces reads it), or loopback', async () => {
    const got = await resolveInterfaces("auto");
    const d = await defaultRoutes();
    const want = d[4]?.interface ?? d[6]?.interface;
    if (want) expect(got[0]?.name).toBe(want);
    else expect(got).toEqual([LOOPBACK]);
    for (const i of got) {
      const ips = (networkInterfaces()[i.name] ?? []).map((a) => a.address);
      if (i.ipv4) expect(ips).toContain(i.ipv4);
      // Never a link-local: a remote peer could not use its zone.
      if (i.ipv6) expect(i.ipv6.startsWith("fe80:")).toBe(false);
    }
  });

  test('"loopback", names, and bad specs', async () => {
    expect(await resolveInterfaces("loopback")).toEqual([LOOPBACK]);
    expect((await resolveInterfaces(["lo"]))[0]?.ipv4).toBe("127.0.0.1");
    await expect(resolveInterfaces(["no-such-nic0"])).rejects.toMatchObject({
      code: "ERR_NO_INTERFACE",
    });
    await expect(resolveInterfaces([])).rejects.toMatchObject({ code: "ERR_BAD_INTERFACES" });
  });
});
