// Whether this host can run the VZ driver, with a reason a user can act on when not. Pure: the facts that cost a
// process to learn (the macOS version, the helper's signature) are read once per process by drivers/registry.ts's
// runningHost() and arrive in the DriverHost.
import { macosAtLeast } from "../../lib/config/host-info.ts";
import type { DriverAvailability, DriverHost, HelperFacts } from "../driver.ts";

/** Virtualization.framework's Linux guests (EFI boot, virtio-fs, Rosetta shares) need macOS 13 Ventura. */
export const VzMinimumMacos = "13";

/** The entitlement without which Virtualization.framework refuses to create any VM. */
export const VirtualizationEntitlement = "com.apple.security.virtualization";

/**
 * On macOS: the version and a present, signed helper. Elsewhere only a stand-in named by DEN_VZ_HELPER can play the
 * helper's part (tests run the driver that way), so that is the one way VZ is available off macOS.
 */
export function vzAvailability(host: DriverHost): DriverAvailability {
  const helper = host.vzHelper;
  if (host.os !== "darwin") {
    if (helper?.source !== "env") {
      return unavailable("VZ needs macOS (set DEN_VZ_HELPER to a helper speaking drivers/vz/helper/PROTOCOL.md to use a stand-in)");
    }
    return helper.executable ? { available: true } : unavailable(notExecutable(helper));
  }
  if (host.macosVersion === undefined) {
    return unavailable(`VZ needs macOS ${VzMinimumMacos} or later, and den could not read this Mac's version`);
  }
  if (!macosAtLeast(host.macosVersion, VzMinimumMacos)) {
    return unavailable(`VZ needs macOS ${VzMinimumMacos} or later (this is macOS ${host.macosVersion})`);
  }
  if (helper === undefined || helper.source === null || helper.path === null) {
    return unavailable("this den was built without the VZ helper (built on Linux); install den from Homebrew or a release tarball");
  }
  if (!helper.executable) return unavailable(notExecutable(helper));
  if (helper.entitled === false) {
    return unavailable(
      `the VZ helper "${helper.path}" is not signed with ${VirtualizationEntitlement} (sign it: codesign --force --sign - --entitlements FILE.plist "${helper.path}")`,
    );
  }
  return { available: true };
}

function notExecutable(helper: HelperFacts): string {
  const named = helper.source === "env" ? `DEN_VZ_HELPER names "${helper.path}"` : `the VZ helper "${helper.path}"`;
  return `${named}, which is not an executable file`;
}

function unavailable(reason: string): DriverAvailability {
  return { available: false, reason };
}
