// Which driver runs an instance: the one registered for its `vmType`. Registration is a value, not an act: a driver
// module exports its DriverRegistration (e.g. QemuRegistration) and changes nothing when imported; the list in
// drivers/all-drivers.ts is the whole set, and den's registry is built from it on first use (`denDrivers()`). So no
// import order decides what den can run, nothing has to be imported "for its side effect", and a test builds its own
// registry from fake registrations with `driverRegistry()`. This file imports every driver through that list, so a
// driver module must not import it back.
import { limaArch, readMacosVersion } from "../lib/config/host-info.ts";
import { DenError } from "../lib/errors.ts";
import { AllDrivers } from "./all-drivers.ts";
import { readVzHelperFacts } from "./vz/vz-helper-location.ts";
import type { Driver, DriverAvailability, DriverContext, DriverFeatures, DriverHost, DriverRegistration } from "./driver.ts";

export interface RegisteredDriver {
  registration: DriverRegistration;
  /** Whether the registry's host can run it. */
  availability: DriverAvailability;
}

export interface DriverRegistry {
  /** Every registered driver in registration order, each with whether this host can run it. */
  list(): RegisteredDriver[];
  /**
   * The driver registered for `vmType`. Refuses with DRIVER_UNAVAILABLE, and a hint naming the types this host can
   * run, when there is none or the host cannot run it; `instanceName` makes the hint name the command to fix it.
   */
  lookup(vmType: string, options?: { instanceName?: string }): DriverRegistration;
  /** Binds the driver for `context.config.vmType` to the instance, refusing as `lookup()` does. */
  createDriver(context: DriverContext): Driver;
}

/**
 * Features whose other side den's host agent does not have: a driver declaring one would be run as if it had not,
 * so it is refused when the registry is built instead of misbehaving at boot. The host agent reaches SSH at
 * 127.0.0.1:<ssh.localPort> only, a port it may choose itself (dynamicSshAddress, staticSshPort), its port-forward
 * service forwards every guest socket (skipSocketForwarding), and the guest is provisioned only through the cidata
 * seed (noCloudInit). A driver that needs one brings the host agent's side with it and takes the flag off this list.
 */
const UnservedFeatures = ["dynamicSshAddress", "staticSshPort", "skipSocketForwarding", "noCloudInit"] as const satisfies readonly (keyof DriverFeatures)[];

/** A registry of `registrations` for `host` (default: the running machine). Throws INTERNAL for a registration den cannot run. */
export function driverRegistry(registrations: readonly DriverRegistration[], options: { host?: DriverHost } = {}): DriverRegistry {
  const host = options.host ?? runningHost();
  const byType = new Map<string, DriverRegistration>();
  for (const registration of registrations) {
    if (byType.has(registration.vmType)) {
      throw new DenError("INTERNAL", `Cannot register two drivers for vmType "${registration.vmType}"`, { hint: "list each vmType once in drivers/all-drivers.ts" });
    }
    const unserved = UnservedFeatures.filter((feature) => registration.features[feature]);
    if (unserved.length > 0) {
      throw new DenError("INTERNAL", `Cannot register the ${registration.displayName} driver: den's host agent cannot serve the features ${quoteList(unserved)}`, {
        hint: "implement the host agent's side of each feature first (see UnservedFeatures in drivers/registry.ts)",
      });
    }
    byType.set(registration.vmType, registration);
  }
  const list = (): RegisteredDriver[] => registrations.map((registration) => ({ registration, availability: registration.availability(host) }));
  const lookup = (vmType: string, lookupOptions: { instanceName?: string } = {}): DriverRegistration => {
    const registration = byType.get(vmType);
    const availability = registration?.availability(host);
    if (registration && availability?.available) return registration;
    const refusal = availability && !availability.available ? `Cannot run vmType "${vmType}" on this host: ${availability.reason}` : `Cannot run vmType "${vmType}": den has no driver for it`;
    const runnable = list().filter((entry) => entry.availability.available).map((entry) => entry.registration.vmType);
    const where = lookupOptions.instanceName === undefined ? "the instance's den.yaml" : `den.yaml (den edit ${lookupOptions.instanceName})`;
    const hint = runnable.length === 0 ? "den has no driver that runs on this host" : `set vmType: ${runnable[0]} in ${where}; this host runs ${quoteList(runnable)}`;
    throw new DenError("DRIVER_UNAVAILABLE", refusal, { hint, details: { vmType, registered: [...byType.keys()] } });
  };
  return {
    list,
    lookup,
    createDriver: (context) => lookup(context.config.vmType, { instanceName: context.instanceName }).create(context),
  };
}

let den: DriverRegistry | undefined;

/** den's own registry: every driver in drivers/all-drivers.ts, for the running machine. */
export function denDrivers(): DriverRegistry {
  den ??= driverRegistry(AllDrivers);
  return den;
}

/** The driver for the instance's `vmType` from den's registry (see `DriverRegistry.createDriver`). */
export function createDriver(context: DriverContext): Driver {
  return denDrivers().createDriver(context);
}

let running: DriverHost | undefined;

/**
 * The running machine as drivers judge it. Read on first use and kept for the process: on macOS it reads the OS
 * version and asks `codesign` about the VZ helper, which `availability()` must not pay for on every call.
 */
export function runningHost(): DriverHost {
  if (running === undefined) {
    const os = process.platform;
    const macosVersion = readMacosVersion(os);
    running = {
      os,
      arch: limaArch(process.arch),
      ...(macosVersion !== undefined && { macosVersion }),
      vzHelper: readVzHelperFacts({ os }),
    };
  }
  return running;
}

function quoteList(values: readonly string[]): string {
  return values.map((value) => `"${value}"`).join(", ");
}
