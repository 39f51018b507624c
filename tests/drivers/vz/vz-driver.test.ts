// The VZ driver against a scripted helper (support/fake-vz-helper.ts) speaking the control protocol: the happy path,
// every way the real helper can refuse or break, and a helper that dies after start, which leaves the instance
// Broken with the helper's reason as `den list` (lib/status/inspect.ts) reads it.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { StartedVm } from "../../../drivers/driver.ts";
import { createVzDriver, VzRegistration } from "../../../drivers/vz/vz-driver.ts";
import { vzConfig } from "../../../drivers/vz/vz-config.ts";
import { loadConfig } from "../../../lib/config/load.ts";
import { DenError } from "../../../lib/errors.ts";
import { startApiServer } from "../../../lib/hostagent/api-server.ts";
import { createMemoryLogger } from "../../../lib/log.ts";
import { inspectInstance } from "../../../lib/status/inspect.ts";
import { isProcessAlive } from "../../../lib/store/pid-file.ts";

const fake = resolve(import.meta.dir, "support/fake-vz-helper.ts");
const root = mkdtempSync(join(tmpdir(), "den-vzd-"));
const helper = join(root, "den-vz-helper");
writeFileSync(helper, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(fake)} "$@"\n`);
chmodSync(helper, 0o755);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const mac = "52:55:55:aa:bb:cc";
let instances = 0;

async function instance(scenario: string, options: { yaml?: string; arch?: string } = {}) {
  instances += 1;
  const name = `vz${instances}`;
  const denHome = join(root, "home");
  const dir = join(denHome, name);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const arch = options.arch ?? "x86_64";
  const yaml = ["vmType: vz", `arch: ${arch}`, "cpus: 2", "memory: 1GiB", "disk: 64MiB", "mounts: []", "images:", "- location: /images/x.qcow2", `  arch: ${arch}`, options.yaml ?? ""].join("\n");
  writeFileSync(join(dir, "den.yaml"), yaml);
  const config = await loadConfig(yaml, { file: join(dir, "den.yaml"), instanceName: name, instanceDir: dir, denHome });
  const log = join(dir, "requests.jsonl");
  const logger = createMemoryLogger();
  const driver = createVzDriver({
    instanceName: name,
    instanceDir: dir,
    denHome,
    config,
    sshLocalPort: 60_022,
    env: { ...process.env, FAKE_VZ_SCENARIO: scenario, FAKE_VZ_LOG: log, DEN_CACHE_DIR: join(root, "cache") },
    logger,
    macAddress: mac,
    helperPath: helper,
    shutdownTimeoutMs: 5_000,
    requestTimeoutMs: 5_000,
  });
  const requests = () => readFileSync(log, "utf8").trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
  return { name, denHome, dir, config, driver, logger, requests };
}

async function drain(vm: StartedVm): Promise<Error[]> {
  const errors: Error[] = [];
  for await (const error of vm.errors) errors.push(error);
  return errors;
}

test("VzRegistration declares vz with raw images, no virtio-serial agent and no feature the host agent lacks", () => {
  expect(VzRegistration).toMatchObject({ vmType: "vz", displayName: "VZ" });
  expect(VzRegistration.features).toEqual({
    canRunGui: false,
    canRunGuestAgentOverVirtioPort: false,
    dynamicSshAddress: false,
    staticSshPort: false,
    skipSocketForwarding: false,
    noCloudInit: false,
    supportedImageFormats: ["raw"],
  });
});

test("start() says hello, creates the machine from vzConfig() and starts it; pause, resume and stop go over the protocol", async () => {
  const { dir, config, driver, requests } = await instance("ok");
  expect(driver.info()).toMatchObject({ name: "vz", vsockPort: 2222, virtioPort: "", serialLog: "serialv.log" });
  const vm = await driver.start();
  const errors = drain(vm);
  const pid = Number(readFileSync(join(dir, "vz.pid"), "utf8").trim());
  expect(isProcessAlive(pid)).toBe(true);
  await driver.pause();
  await driver.pause();
  await driver.resume();
  await driver.resume();
  expect(await driver.guestAgentConnection()).toEqual({ transport: "unix", path: join(dir, "ga.sock") });
  expect(await driver.sshAddress()).toEqual({ host: "127.0.0.1", port: 60_022 });
  await driver.stop();
  expect(await vm.exited).toEqual({ code: 0, signal: null });
  expect(await errors).toEqual([]);
  expect(existsSync(join(dir, "vz.pid"))).toBe(false);
  await driver.stop();
  const sent = requests().map((request) => (request.method === undefined ? "EOF" : request.method));
  // pause and resume ask the state first, so a second call is a no-op; stop resumes a paused VM first.
  expect(sent).toEqual(["hello", "create", "start", "state", "pause", "state", "state", "resume", "state", "state", "stop"]);
  expect(requests()[1]).toEqual({ id: 2, method: "create", params: { config: vzConfig(config, { instanceDir: dir, macAddress: mac, sshLocalPort: 60_022 }) } });
  expect(requests().at(-1)).toMatchObject({ method: "stop", params: { graceful: true, timeoutMs: 5_000 } });
});

test.each([
  { scenario: "unsupported-protocol", message: 'The VZ helper refused "hello": this helper speaks protocol 2 (UNSUPPORTED_PROTOCOL)' },
  { scenario: "garbage", message: 'The VZ helper broke the control protocol: it wrote a line that is not JSON: "this is not json"' },
  { scenario: "long-line", message: "The VZ helper broke the control protocol: it wrote a line longer than 1048576 bytes" },
  { scenario: "unknown-id", message: "The VZ helper broke the control protocol: it answered request 1001, which den never sent or which was already answered" },
  { scenario: "invalid-config", message: 'The VZ helper refused "create": disk "/nope" does not exist (INVALID_CONFIG)' },
  { scenario: "die-on-create", message: "The VZ helper exited with code 1; the helper's last output:\n  fatal: cannot build the machine: boom" },
  { scenario: "silent", message: 'The VZ helper did not answer "hello" within 5 s' },
])("start() fails with a VZ_HELPER error and leaves no helper behind when the helper answers $scenario", async ({ scenario, message }) => {
  const { dir, driver } = await instance(scenario);
  const error = await driver.start().catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(DenError);
  expect(error).toMatchObject({ code: "VZ_HELPER" });
  expect((error as Error).message.startsWith(message)).toBe(true);
  // The pid file goes with the helper once its exit is seen.
  for (let i = 0; i < 50 && existsSync(join(dir, "vz.pid")); i++) await Bun.sleep(20);
  expect(existsSync(join(dir, "vz.pid"))).toBe(false);
}, 20_000);

test.each([{ scenario: "powers-off" }, { scenario: "powers-off-and-waits" }])("a guest that powers itself off ends the VM with no error ($scenario)", async ({ scenario }) => {
  const { driver, logger } = await instance(scenario);
  const vm = await driver.start();
  expect(await vm.exited).toEqual({ code: 0, signal: null });
  expect(await drain(vm)).toEqual([]);
  expect(logger.lines).toContainEqual({ level: "info", message: "The guest powered off" });
});

test("a helper that dies after start reports its error event and its exit, and the instance reads Broken with that reason", async () => {
  const { name, denHome, dir, driver } = await instance("dies-after-start");
  const vm = await driver.start();
  const errors = await drain(vm);
  expect(await vm.exited).toEqual({ code: 1, signal: null });
  expect(errors.map((error) => error.message)).toEqual([
    "The VM failed: the guest kernel panicked (VZ_ERROR)",
    "The VZ helper exited with code 1 while the VM was running; the helper's last output:\n  fatal: the VM stopped with an error",
  ]);
  // The host agent's part (lib/hostagent/host-agent.ts): it stays up, says Broken and gives the driver's errors as the
  // reason. A process whose command line reads "hostagent <name>" holds ha.pid, as den's host agent does.
  const hostAgent = Bun.spawn([process.execPath, "-e", "setInterval(() => {}, 1000)", "hostagent", name], { stdout: "ignore", stderr: "ignore" });
  try {
    writeFileSync(join(dir, "ha.pid"), `${hostAgent.pid}\n`);
    const reason = `the VM exited unexpectedly (exit code 1): ${errors.map((error) => error.message).join("; ")}`;
    const server = await startApiServer(join(dir, "ha.sock"), {
      info: () => ({ sshLocalPort: 60_022, status: "Broken", degraded: false, errors: [reason], services: {} }),
      pause: async () => {},
      resume: async () => {},
      stop: () => {},
    });
    try {
      const info = await inspectInstance(denHome, name);
      expect(info).toMatchObject({ status: "Broken", vmType: "vz", hostAgentPID: hostAgent.pid, errors: [reason] });
      expect(info.driverPID).toBeUndefined();
    } finally {
      await server.close();
    }
  } finally {
    hostAgent.kill();
  }
});

test("a helper that breaks the protocol while the VM runs is told to stop, and its clean exit is still reported as a failure", async () => {
  const { driver } = await instance("garbage-after-start");
  const vm = await driver.start();
  const errors = await drain(vm);
  expect(await vm.exited).toEqual({ code: 0, signal: null });
  expect(errors.map((error) => error.message)).toEqual([`The VZ helper broke the control protocol: it wrote a line that is not JSON: "?? not a message"`]);
});

test("inspectInstance() trusts vz.pid only for the helper den launched with -pidfile", async () => {
  const { name, denHome, dir, driver } = await instance("ok");
  const vm = await driver.start();
  try {
    const pid = Number(readFileSync(join(dir, "vz.pid"), "utf8").trim());
    // A helper without a host agent: Broken, naming the vz process.
    const info = await inspectInstance(denHome, name);
    expect(info).toMatchObject({ status: "Broken", driverPID: pid, errors: [`the vz process is running (PID ${pid}) but the host agent is not`] });
  } finally {
    await driver.stop();
    await vm.exited;
  }
  // A vz.pid naming some other live process is stale: removed, and the instance is Stopped.
  writeFileSync(join(dir, "vz.pid"), `${process.pid}\n`);
  expect((await inspectInstance(denHome, name)).status).toBe("Stopped");
  expect(existsSync(join(dir, "vz.pid"))).toBe(false);
});

test("createDisk() converts a qcow2 image to raw once in the image cache, then clones and grows it, never shrinking", async () => {
  const first = await instance("ok");
  const second = await instance("ok");
  for (const { dir } of [first, second]) {
    const made = Bun.spawnSync(["qemu-img", "create", "-f", "qcow2", join(dir, "image"), "32M"]);
    expect(made.exitCode).toBe(0);
  }
  await first.driver.createDisk();
  const cached = join(root, "cache", "vz-raw");
  const [raw] = Array.from(new Bun.Glob("*.raw").scanSync(cached));
  expect(raw).toMatch(/^[0-9a-f]{64}\.raw$/);
  const convertedAt = statSync(join(cached, raw as string)).mtimeMs;
  expect(statSync(join(first.dir, "disk")).size).toBe(64 * 1024 ** 2);
  const header = readFileSync(join(first.dir, "disk")).subarray(0, 4);
  expect(header.toString("latin1")).not.toBe("QFI\xfb");

  await Bun.sleep(20);
  await second.driver.createDisk();
  expect(statSync(join(cached, raw as string)).mtimeMs).toBe(convertedAt);
  expect(Array.from(new Bun.Glob("*").scanSync(cached))).toEqual([raw as string]);

  // An existing disk larger than `disk:` is kept as it is.
  writeFileSync(join(second.dir, "disk"), "");
  Bun.spawnSync(["truncate", "-s", "128M", join(second.dir, "disk")]);
  await second.driver.createDisk();
  expect(statSync(join(second.dir, "disk")).size).toBe(128 * 1024 ** 2);
});

test.each([
  { name: "a 9p mount type", yaml: "mountType: 9p", arch: "x86_64", message: 'Cannot use mountType "9p" with vmType "vz": Virtualization.framework shares folders with virtio-fs only' },
  { name: "a foreign arch", yaml: "", arch: "aarch64", message: 'Cannot run an aarch64 guest with vmType "vz" on this x86_64 host: Virtualization.framework runs native guests only' },
])("validate() refuses $name", async ({ yaml, arch, message }) => {
  const { driver } = await instance("ok", { yaml, arch });
  await expect(driver.validate()).rejects.toMatchObject({ code: "CONFIG_INVALID", message });
});
