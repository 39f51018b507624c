import { beforeAll, describe, expect, test } from "bun:test";
import type { DenYaml } from "../../lib/config/schema.ts";
import { networkConfig } from "../../cidata/network-config.ts";
import { argsFor, HostileValues, pyYamlLoad, requirePyYaml } from "./seed-fixture.ts";

beforeAll(requirePyYaml);

const eth0 = {
  match: { macaddress: "52:55:55:12:34:56" },
  dhcp4: true,
  "set-name": "eth0",
  "dhcp4-overrides": { "route-metric": 200 },
  "dhcp-identifier": "mac",
};

describe("networkConfig()", () => {
  test.each<{ label: string; raw: DenYaml; want: unknown }>([
    { label: "only eth0 by default", raw: {}, want: { version: 2, ethernets: { eth0 } } },
    { label: "name servers on eth0 with dns and the host resolver off", raw: { dns: ["9.9.9.9"], hostResolver: { enabled: false } }, want: { version: 2, ethernets: { eth0: { ...eth0, nameservers: { addresses: ["9.9.9.9"] } } } } },
    {
      label: "extra networks with their own metric and no name servers",
      raw: { dns: ["9.9.9.9"], hostResolver: { enabled: false }, networks: [{ lima: "shared", macAddress: "52:55:55:01:02:03", interface: "vmnet", metric: 100 }] },
      want: {
        version: 2,
        ethernets: {
          eth0: { ...eth0, nameservers: { addresses: ["9.9.9.9"] } },
          vmnet: { match: { macaddress: "52:55:55:01:02:03" }, dhcp4: true, "set-name": "vmnet", "dhcp4-overrides": { "route-metric": 100 }, "dhcp-identifier": "mac" },
        },
      },
    },
  ])("networkConfig() writes $label", ({ raw, want }) => {
    expect(pyYamlLoad(networkConfig(argsFor(raw)))).toEqual(want);
  });

  test("networkConfig() quotes the MAC so YAML 1.1 does not read it as a base-60 number", () => {
    expect(networkConfig(argsFor())).toContain('macaddress: "52:55:55:12:34:56"');
  });

  test.each(HostileValues.filter(({ value }) => value !== ""))("networkConfig() keeps an interface name with $label as one key", ({ value }) => {
    const loaded = pyYamlLoad(networkConfig(argsFor({ networks: [{ socket: "/x", interface: value }] }))) as { ethernets: Record<string, { "set-name": string }> };
    expect(Object.keys(loaded.ethernets)).toEqual(["eth0", value]);
    expect(loaded.ethernets[value]?.["set-name"]).toBe(value);
  });
});
