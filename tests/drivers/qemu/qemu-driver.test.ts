// The QEMU driver without booting a guest: validation, disks, start failures through a fake QEMU, stop and pause
// against no QEMU at all. The real boots go through `den start` in tests/e2e/lifecycle.test.ts (start, pause/resume over QMP, graceful stop, kill -9).
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createQemuDriver, type QemuDriverContext } from "../../../drivers/qemu/qemu-driver.ts";
import { qemuImgInfo } from "../../../drivers/qemu/disk.ts";
import { connectQmp } from "../../../drivers/qemu/qmp-client.ts";
import { loadConfig } from "../../../lib/config/load.ts";
import { createMemoryLogger } from "../../../lib/log.ts";

const MiB = 2 ** 20;
const root = mkdtempSync(join(tmpdir(), "den-qemu-driver-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A stand-in qemu-system-x86_64: answers --version, otherwise prints to stderr and exits 3. */
function fakeQemu(version: string): string {
  const path = join(root, `fake-qemu-${version}`);
  writeFileSync(path, `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "QEMU emulator version ${version}"; exit 0; fi\necho "qemu-system-x86_64: -drive file=x: Could not open" >&2\nexit 3\n`);
  chmodSync(path, 0o755);
  return path;
}

/** A QEMU that serves QMP: "crash" exits with 7 soon after start, "obedient" powers off on system_powerdown. */
function qmpQemu(mode: "crash" | "obedient"): string {
  const path = join(root, `qmp-qemu-${mode}`);
  writeFileSync(path, `#!/bin/sh\nexec "${process.execPath}" "${join(import.meta.dir, "support", "fake-qemu.ts")}" ${mode} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

let counter = 0;
async function driverFor(yaml: string, overrides: Partial<QemuDriverContext> = {}, files: Record<string, string> = {}) {
  const dir = join(root, `i${++counter}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const config = await loadConfig(yaml, { file: join(dir, "den.yaml"), instanceName: `i${counter}`, instanceDir: dir, denHome: root, isDirectory: () => true });
  const logger = createMemoryLogger();
  const driver = createQemuDriver({
    instanceName: `i${counter}`,
    instanceDir: dir,
    denHome: root,
    config,
    sshLocalPort: 60022,
    env: { PATH: process.env.PATH, DEN_QEMU_ACCEL: "tcg" },
    logger,
    macAddress: "52:55:55:00:00:01",
    host: { os: "Linux", arch: "x86_64", home: root },
    fileExists: () => false,
    ...overrides,
  });
  return { dir, driver, logger };
}

const x86 = "arch: x86_64\ncpus: 1\nmemory: 1GiB\ndisk: 64MiB\nmounts: []\nimages:\n- location: /img/disk.qcow2\n  arch: x86_64\n";
const x86Kernel = `${x86}  kernel:\n    location: /img/vmlinuz\n`;

async function qemuImgCreate(path: string, format: string, size: string): Promise<void> {
  expect(await Bun.spawn(["qemu-img", "create", "-q", "-f", format, path, size]).exited).toBe(0);
}

describe("QEMU driver facts", () => {
  test("info() declares the virtio guest agent port and qcow2/raw images", async () => {
    const { dir, driver } = await driverFor(x86);
    expect(driver.info()).toMatchObject({
      name: "qemu",
      instanceDir: dir,
      virtioPort: "io.den.agent.0",
      features: { canRunGuestAgentOverVirtioPort: true, dynamicSshAddress: false, supportedImageFormats: ["qcow2", "raw"] },
    });
  });

  test("sshAddress() is the loopback port and guestAgentConnection() the ga.sock of the instance", async () => {
    const { dir, driver } = await driverFor(x86);
    expect(await driver.sshAddress()).toEqual({ host: "127.0.0.1", port: 60022 });
    expect(await driver.guestAgentConnection()).toEqual({ transport: "unix", path: join(dir, "ga.sock") });
  });
});

describe("QEMU driver validate()", () => {
  test("validate() accepts a direct-kernel guest with a working QEMU and qemu-img", async () => {
    const { driver } = await driverFor(x86Kernel, { env: { PATH: process.env.PATH, QEMU_SYSTEM_X86_64: fakeQemu("7.2.22") } });
    await driver.validate();
    expect(driver.warnings()).toEqual([]);
  });

  test("validate() accepts an x86_64 guest without firmware when legacyBIOS is set", async () => {
    const { driver } = await driverFor(`${x86}firmware:\n  legacyBIOS: true\n`, { env: { PATH: process.env.PATH, QEMU_SYSTEM_X86_64: fakeQemu("7.2.22") } });
    await driver.validate();
  });

  test("validate() finds UEFI firmware through the file-exists callback", async () => {
    const { driver } = await driverFor(x86, {
      env: { PATH: process.env.PATH, QEMU_SYSTEM_X86_64: fakeQemu("7.2.22") },
      fileExists: (path) => path === "/usr/share/OVMF/OVMF_CODE_4M.fd",
    });
    await driver.validate();
  });

  test("validate() warns once about a QEMU older than recommended", async () => {
    const { driver } = await driverFor(x86Kernel, { env: { PATH: process.env.PATH, QEMU_SYSTEM_X86_64: fakeQemu("5.2.0") } });
    await driver.validate();
    await driver.validate();
    expect(driver.warnings()).toEqual(["QEMU 5.2.0 is older than the recommended 6.2.0; some features may not work"]);
  });

  test.each([
    {
      name: "a QEMU_SYSTEM_X86_64 that is not an executable",
      yaml: x86Kernel,
      env: { QEMU_SYSTEM_X86_64: "/nonexistent/qemu" },
      want: { code: "HOST_TOOL_MISSING", message: 'Cannot run "/nonexistent/qemu": no such executable' },
    },
    { name: "a QEMU not in PATH", yaml: x86Kernel, env: { PATH: "/nonexistent" }, want: { code: "HOST_TOOL_MISSING", message: 'Cannot find "qemu-system-x86_64" in PATH' } },
    { name: "a QEMU that is too old", yaml: x86Kernel, env: { QEMU_SYSTEM_X86_64: "3.1.0" }, want: { code: "QEMU_VERSION" } },
    {
      name: "a template that needs a newer QEMU",
      yaml: `${x86Kernel}vmOpts:\n  qemu:\n    minimumVersion: "9.0.0"\n`,
      env: { QEMU_SYSTEM_X86_64: "7.2.22" },
      want: { code: "QEMU_VERSION", message: expect.stringContaining("the template requires QEMU 9.0.0") },
    },
    { name: "a UEFI guest without firmware", yaml: x86, env: { QEMU_SYSTEM_X86_64: "7.2.22" }, want: { code: "HOST_TOOL_MISSING", message: 'Cannot find UEFI firmware for an x86_64 guest' } },
    {
      name: "an accelerator macOS has but Linux has not",
      yaml: x86Kernel,
      env: { QEMU_SYSTEM_X86_64: "7.2.22", DEN_QEMU_ACCEL: "hvf" },
      want: { code: "CONFIG_INVALID", message: 'Cannot use accelerator "hvf" on Linux: it only exists on macOS' },
    },
    {
      name: "an unknown accelerator name",
      yaml: x86Kernel,
      env: { QEMU_SYSTEM_X86_64: "7.2.22", DEN_QEMU_ACCEL: "xen" },
      want: { code: "CONFIG_INVALID", message: 'Unknown accelerator "xen" in DEN_QEMU_ACCEL: expected kvm, hvf or tcg' },
    },
    {
      name: "virtiofs mounts on a macOS host",
      yaml: `${x86Kernel.replace("mounts: []\n", "")}mountType: virtiofs\nmounts:\n- location: /home/alice/src\n`,
      env: { QEMU_SYSTEM_X86_64: "8.2.1" },
      host: { os: "Darwin" as const, arch: "x86_64", home: "/Users/alice" },
      want: { code: "CONFIG_INVALID", message: expect.stringContaining('Cannot use mountType "virtiofs" with QEMU on Darwin') },
    },
  ])("validate() refuses $name", async ({ yaml, env, want, host }) => {
    const version = env.QEMU_SYSTEM_X86_64 && /^\d/.test(env.QEMU_SYSTEM_X86_64) ? fakeQemu(env.QEMU_SYSTEM_X86_64) : env.QEMU_SYSTEM_X86_64;
    const fullEnv = { PATH: process.env.PATH, ...env, ...(version && { QEMU_SYSTEM_X86_64: version }) };
    const { driver } = await driverFor(yaml, { env: fullEnv, ...(host && { host }) });
    await expect(driver.validate()).rejects.toMatchObject(want);
  });
});

// Root in a user namespace mapped to the guest uid (how den runs virtiofsd) reads only what owner and mode allow.
test.if(process.getuid?.() === 0 && Bun.which("unshare") !== null && ["/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd"].some((path) => existsSync(path)))(
  "validate() refuses a virtiofs folder of another owner, mode 0700, naming it with its owner and mode, before anything starts",
  async () => {
    const closed = join(root, "closed share");
    mkdirSync(closed, { mode: 0o700 });
    chownSync(closed, 12345, 12345);
    chmodSync(root, 0o755);
    const yaml = `${x86Kernel.replace("mounts: []\n", "")}mountType: virtiofs\nmounts:\n- location: ${JSON.stringify(closed)}\n`;
    const { driver } = await driverFor(yaml, { env: { PATH: process.env.PATH, QEMU_SYSTEM_X86_64: fakeQemu("8.2.1") } });
    await expect(driver.validate()).rejects.toMatchObject({
      code: "QEMU_FAILED",
      message: `Cannot share "${closed}" through virtiofs: virtiofsd, which runs as the guest user (uid 1000) in a user namespace, cannot list it (owner uid 12345, mode 0700)`,
      hint: "let others read the folder (chmod o+rx), share one you own, use mountType: 9p, or remove the mount",
    });
    chmodSync(closed, 0o755);
    // Readable now: validate() goes past the mount (to the firmware or the command line, whatever this host lacks).
    await driver.validate().catch((error: unknown) => expect(String((error as Error).message)).not.toContain("through virtiofs"));
  },
);

describe("QEMU driver createDisk()", () => {
  test("createDisk() makes a qcow2 overlay over the image, grown to disk:", async () => {
    const { dir, driver } = await driverFor(x86);
    await qemuImgCreate(join(dir, "image"), "qcow2", "16M");
    await driver.createDisk();
    expect(await qemuImgInfo(join(dir, "disk"))).toMatchObject({ format: "qcow2", "virtual-size": 64 * MiB, "backing-filename": join(dir, "image"), "backing-filename-format": "qcow2" });
  });

  test("createDisk() records a raw image as a raw backing file", async () => {
    const { dir, driver } = await driverFor(x86);
    await qemuImgCreate(join(dir, "image"), "raw", "8M");
    await driver.createDisk();
    expect((await qemuImgInfo(join(dir, "disk")))["backing-filename-format"]).toBe("raw");
  });

  test("createDisk() keeps the image's size and warns when disk: is smaller", async () => {
    const { dir, driver } = await driverFor(x86);
    await qemuImgCreate(join(dir, "image"), "qcow2", "128M");
    await driver.createDisk();
    expect((await qemuImgInfo(join(dir, "disk")))["virtual-size"]).toBe(128 * MiB);
    expect(driver.warnings()).toEqual([`disk: 64MiB is smaller than the image (${128 * MiB} bytes); the disk keeps the image's size`]);
  });

  test.each([
    { name: "grows a smaller existing disk", existing: "32M", want: 64 * MiB },
    { name: "leaves a disk of the right size alone", existing: "64M", want: 64 * MiB },
    { name: "never shrinks a bigger disk", existing: "256M", want: 256 * MiB },
  ])("createDisk() $name", async ({ existing, want }) => {
    const { dir, driver } = await driverFor(x86);
    await qemuImgCreate(join(dir, "disk"), "qcow2", existing);
    await driver.createDisk();
    expect((await qemuImgInfo(join(dir, "disk")))["virtual-size"]).toBe(want);
  });

  test("createDisk() keeps an ISO image as iso and makes an empty disk", async () => {
    const { dir, driver } = await driverFor(x86);
    const iso = Buffer.alloc(0x9000);
    iso.write("CD001", 0x8001, "latin1");
    writeFileSync(join(dir, "image"), iso);
    await driver.createDisk();
    expect(existsSync(join(dir, "image"))).toBe(false);
    expect(readFileSync(join(dir, "iso")).equals(iso)).toBe(true);
    const info = await qemuImgInfo(join(dir, "disk"));
    expect({ format: info.format, size: info["virtual-size"], backing: info["backing-filename"] }).toEqual({ format: "qcow2", size: 64 * MiB, backing: undefined });
  });

  test("createDisk() refuses an image that is itself an overlay", async () => {
    const { dir, driver } = await driverFor(x86);
    await qemuImgCreate(join(dir, "base"), "qcow2", "8M");
    expect(await Bun.spawn(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", join(dir, "base"), join(dir, "image")]).exited).toBe(0);
    await expect(driver.createDisk()).rejects.toMatchObject({ code: "QEMU_IMG", message: expect.stringContaining("it is an overlay of") });
    expect(existsSync(join(dir, "disk"))).toBe(false);
  });

  test("createDisk() names the missing image", async () => {
    const { dir, driver } = await driverFor(x86);
    await expect(driver.createDisk()).rejects.toMatchObject({ code: "IO", message: `Cannot create the disk of instance "i${counter}": the image "${join(dir, "image")}" is missing` });
  });
});

describe("QEMU driver without a running QEMU", () => {
  test("stop() succeeds when QEMU never ran", async () => {
    const { driver } = await driverFor(x86);
    await driver.stop();
  });

  test("stop() succeeds and removes a qemu.pid that names a dead process", async () => {
    const { dir, driver } = await driverFor(x86, {}, { "qemu.pid": "999999999\n" });
    await driver.stop();
    expect(existsSync(join(dir, "qemu.pid"))).toBe(false);
  });

  test.each([
    { name: "pause", call: "pause" as const },
    { name: "resume", call: "resume" as const },
  ])("$name() says the VM is not running", async ({ call, name }) => {
    const { driver } = await driverFor(x86);
    await expect(driver[call]()).rejects.toMatchObject({ code: "INSTANCE_STATE", message: `Cannot ${name} instance "i${counter}": its QEMU is not running` });
  });

  test("snapshots create, list and delete internal snapshots of a stopped disk with qemu-img", async () => {
    const { dir, driver } = await driverFor(x86);
    await qemuImgCreate(join(dir, "disk"), "qcow2", "8M");
    await driver.snapshots.create("before-upgrade");
    expect(await driver.snapshots.list()).toContain("before-upgrade");
    await driver.snapshots.apply("before-upgrade");
    await driver.snapshots.delete("before-upgrade");
    expect(await driver.snapshots.list()).not.toContain("before-upgrade");
  });

  test("snapshots refuse a tag that is not a plain word", async () => {
    const { driver } = await driverFor(x86);
    await expect(driver.snapshots.create("a b")).rejects.toMatchObject({ code: "USAGE" });
  });

  test("start() resolves once QMP answers, and errors reports a later crash with its exit code and stderr", async () => {
    const { driver } = await driverFor(x86Kernel, { env: { PATH: process.env.PATH, DEN_QEMU_ACCEL: "tcg", QEMU_SYSTEM_X86_64: qmpQemu("crash") } }, { kernel: "k" });
    const vm = await driver.start();
    const errors: Error[] = [];
    for await (const error of vm.errors) errors.push(error);
    expect(await vm.exited).toEqual({ code: 7, signal: null });
    expect(errors).toEqual([expect.objectContaining({ code: "QEMU_FAILED", message: "QEMU exited with code 7 while the VM was running; its last output:\n  qemu-system-x86_64: guest crashed (fake)" })]);
    await driver.stop();
  });

  test("pause() and resume() drive QMP, and stop() powers the VM off without reporting an error", async () => {
    const { dir, driver } = await driverFor(x86Kernel, { env: { PATH: process.env.PATH, DEN_QEMU_ACCEL: "tcg", QEMU_SYSTEM_X86_64: qmpQemu("obedient") } }, { kernel: "k" });
    const vm = await driver.start();
    await driver.pause();
    const client = await connectQmp(join(dir, "qmp.sock"));
    expect(await client.queryStatus()).toMatchObject({ status: "paused" });
    await client.close();
    await driver.resume();
    await driver.stop();
    expect(await vm.exited).toEqual({ code: 0, signal: null });
    const errors: Error[] = [];
    for await (const error of vm.errors) errors.push(error);
    expect(errors).toEqual([]);
    await driver.stop();
  });

  test("start() reports QEMU's exit code and the tail of its stderr when it fails at once", async () => {
    const { dir, driver } = await driverFor(x86Kernel, { env: { PATH: process.env.PATH, DEN_QEMU_ACCEL: "tcg", QEMU_SYSTEM_X86_64: fakeQemu("7.2.22") } }, { kernel: "k" });
    const promise = driver.start();
    await expect(promise).rejects.toMatchObject({
      code: "QEMU_FAILED",
      message: "QEMU exited with code 3 before its QMP socket answered; its last output:\n  qemu-system-x86_64: -drive file=x: Could not open",
    });
    expect(readFileSync(join(dir, "ha.stderr.log"), "utf8")).toContain("Could not open");
    await driver.stop();
  });
});
