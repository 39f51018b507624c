import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AllDrivers } from "../../drivers/all-drivers.ts";
import type { DriverContext, DriverFeatures, DriverRegistration } from "../../drivers/driver.ts";
import { QemuRegistration } from "../../drivers/qemu/qemu-driver.ts";
import { createDriver, denDrivers, driverRegistry } from "../../drivers/registry.ts";
import { loadConfig } from "../../lib/config/load.ts";
import type { VmType } from "../../lib/config/schema.ts";
import { createMemoryLogger } from "../../lib/log.ts";
import { caughtDenError } from "../support/caught-den-error.ts";

const root = mkdtempSync(join(tmpdir(), "den-registry-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const linux = { os: "linux", arch: "x86_64" };
const windows = { os: "win32", arch: "x86_64" };

let counter = 0;
async function contextFor(vmType: VmType): Promise<DriverContext> {
  const name = `r${++counter}`;
  const dir = join(root, name);
  mkdirSync(dir);
  const yaml = `vmType: ${vmType}\narch: x86_64\nmounts: []\nimages:\n- location: /img/disk.qcow2\n  arch: x86_64\n`;
  const config = await loadConfig(yaml, { file: join(dir, "den.yaml"), instanceName: name, instanceDir: dir, denHome: root, isDirectory: () => true });
  return { instanceName: name, instanceDir: dir, denHome: root, config, sshLocalPort: 60022, env: { PATH: process.env.PATH }, logger: createMemoryLogger() };
}

/** A registration that lends QEMU's driver but records which vmType was asked to create one. */
function fakeRegistration(vmType: VmType, created: string[], overrides: Partial<DriverRegistration> = {}): DriverRegistration {
  return {
    vmType,
    displayName: `Fake ${vmType}`,
    features: QemuRegistration.features,
    availability: () => ({ available: true }),
    create: (context) => {
      created.push(vmType);
      return QemuRegistration.create(context);
    },
    ...overrides,
  };
}

test("den's registry lists the QEMU driver, which runs on this Linux host, and the VZ driver, which does not", () => {
  expect(AllDrivers.map((registration) => registration.vmType)).toEqual(["qemu", "vz"]);
  expect(denDrivers().list().map(({ registration, availability }) => ({ vmType: registration.vmType, displayName: registration.displayName, availability }))).toEqual([
    { vmType: "qemu", displayName: "QEMU", availability: { available: true } },
    // Off macOS only a stand-in named by DEN_VZ_HELPER runs VZ (tests/e2e/vz-standin.test.ts); this process has none.
    { vmType: "vz", displayName: "VZ", availability: { available: false, reason: expect.stringContaining("VZ needs macOS") } },
  ]);
});

test.each([
  { host: linux, available: true },
  { host: { os: "darwin", arch: "aarch64" }, available: true },
  { host: windows, available: false },
])("the QEMU registration is available on $host.os: $available", ({ host, available }) => {
  expect(QemuRegistration.availability(host).available).toBe(available);
});

test.each([
  { vmType: "wsl2", instanceName: "dev", hint: 'set vmType: qemu in den.yaml (den edit dev); this host runs "qemu"' },
  { vmType: "firecracker", instanceName: undefined, hint: 'set vmType: qemu in the instance\'s den.yaml; this host runs "qemu"' },
])("lookup() refuses vmType $vmType, which has no driver, with a hint", ({ vmType, instanceName, hint }) => {
  const error = caughtDenError(() => driverRegistry(AllDrivers, { host: linux }).lookup(vmType, instanceName === undefined ? {} : { instanceName }));
  expect(error.code).toBe("DRIVER_UNAVAILABLE");
  expect(error.message).toBe(`Cannot run vmType "${vmType}": den has no driver for it`);
  expect(error.hint).toBe(hint);
  expect(error.details).toEqual({ vmType, registered: ["qemu", "vz"] });
});

test("lookup() refuses vmType vz on a Linux host without a helper, with the VZ driver's reason", () => {
  const error = caughtDenError(() => driverRegistry(AllDrivers, { host: linux }).lookup("vz"));
  expect(error.code).toBe("DRIVER_UNAVAILABLE");
  expect(error.message).toStartWith('Cannot run vmType "vz" on this host: VZ needs macOS');
  expect(error.hint).toBe('set vmType: qemu in the instance\'s den.yaml; this host runs "qemu"');
});

test("lookup() refuses a registered driver the host cannot run, with its reason", () => {
  const error = caughtDenError(() => driverRegistry(AllDrivers, { host: windows }).lookup("qemu"));
  expect(error.code).toBe("DRIVER_UNAVAILABLE");
  expect(error.message).toBe(`Cannot run vmType "qemu" on this host: den's QEMU driver runs on Linux and macOS hosts only`);
  expect(error.hint).toBe("den has no driver that runs on this host");
});

test("lookup() hints at a type the host can run when the asked one is unavailable", () => {
  const created: string[] = [];
  const registry = driverRegistry([fakeRegistration("vz", created, { availability: () => ({ available: false, reason: "it needs macOS 13" }) }), fakeRegistration("qemu", created)], { host: linux });
  const error = caughtDenError(() => registry.lookup("vz"));
  expect(error.message).toBe('Cannot run vmType "vz" on this host: it needs macOS 13');
  expect(error.hint).toBe('set vmType: qemu in the instance\'s den.yaml; this host runs "qemu"');
  expect(registry.list().map((entry) => entry.availability.available)).toEqual([false, true]);
});

test.each([{ vmType: "qemu" as const }, { vmType: "vz" as const }])("createDriver() picks the driver registered for vmType $vmType", async ({ vmType }) => {
  const created: string[] = [];
  const registry = driverRegistry([fakeRegistration("qemu", created), fakeRegistration("vz", created)], { host: linux });
  registry.createDriver(await contextFor(vmType));
  expect(created).toEqual([vmType]);
});

test("createDriver() refuses an instance whose vmType has no driver, naming the instance in the hint", async () => {
  const context = await contextFor("wsl2");
  const error = caughtDenError(() => driverRegistry(AllDrivers, { host: linux }).createDriver(context));
  expect(error.message).toBe('Cannot run vmType "wsl2": den has no driver for it');
  expect(error.hint).toBe(`set vmType: qemu in den.yaml (den edit ${context.instanceName}); this host runs "qemu"`);
});

test("a created driver reports the features its registration declares", async () => {
  const driver = createDriver(await contextFor("qemu"));
  const info = driver.info();
  expect(info.name).toBe("qemu");
  expect(info.features).toEqual(QemuRegistration.features);
  expect(info.serialLog).toBe("serial.log");
  expect(QemuRegistration.features).toMatchObject({ canRunGuestAgentOverVirtioPort: true, dynamicSshAddress: false, staticSshPort: false, noCloudInit: false });
});

test("driverRegistry() refuses two drivers for one vmType", () => {
  const created: string[] = [];
  const error = caughtDenError(() => driverRegistry([fakeRegistration("qemu", created), fakeRegistration("qemu", created)]));
  expect(error.code).toBe("INTERNAL");
  expect(error.message).toBe('Cannot register two drivers for vmType "qemu"');
});

test.each([
  { feature: "dynamicSshAddress" },
  { feature: "staticSshPort" },
  { feature: "skipSocketForwarding" },
  { feature: "noCloudInit" },
] satisfies { feature: keyof DriverFeatures }[])("driverRegistry() refuses a driver declaring $feature, which the host agent cannot serve", ({ feature }) => {
  const created: string[] = [];
  const registration = fakeRegistration("vz", created, { features: { ...QemuRegistration.features, [feature]: true } });
  const error = caughtDenError(() => driverRegistry([registration]));
  expect(error.code).toBe("INTERNAL");
  expect(error.message).toBe(`Cannot register the Fake vz driver: den's host agent cannot serve the features "${feature}"`);
});

test("every driver den registers declares only features its host agent serves", () => {
  expect(() => driverRegistry(AllDrivers)).not.toThrow();
});
