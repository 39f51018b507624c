// The NoCloud `network-config` (netplan version 2). Each NIC is matched by MAC address and renamed, so the guest's
// names do not depend on PCI order. The DHCP client identifier is the MAC (as Lima configures it), so a lease follows
// the NIC rather than the guest's machine-id based DUID.
import { SlirpNicName, type SeedArgs } from "./seed-args.ts";
import { cloudYaml } from "./user-data.ts";

/** The network-config text; `dnsAddresses` become eth0's name servers. */
export function networkConfig(args: Pick<SeedArgs, "networks" | "dnsAddresses">): string {
  const ethernets: Record<string, unknown> = {};
  for (const network of args.networks) {
    ethernets[network.interface] = {
      match: { macaddress: network.macAddress },
      dhcp4: true,
      "set-name": network.interface,
      "dhcp4-overrides": { "route-metric": network.metric },
      "dhcp-identifier": "mac",
      ...(network.interface === SlirpNicName && args.dnsAddresses.length > 0 && { nameservers: { addresses: [...args.dnsAddresses] } }),
    };
  }
  return cloudYaml({ version: 2, ethernets });
}
