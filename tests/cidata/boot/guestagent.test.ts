// cidata/boot/linux/25-guestagent.sh through boot.sh in a fake root (see boot-fixture.ts and agent-fixture.ts); the
// systemctl steps and the real DENRUNTIME disk need a real guest and are covered by tests/e2e/guest-agent.test.ts.
import { beforeAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { type BootFixture, makeBootFixture } from "./boot-fixture.ts";
import {
  AGENT_LIB,
  agentSeed,
  buildAgentBundle,
  ECHO_RUNTIME,
  HOST_BUN,
  makeRuntimeDisk,
  runtimeLine,
  RUNTIME_MOUNT,
  stepLines,
  writeExecutable,
  writeMountTools,
  writeTraceShims,
} from "./agent-fixture.ts";
import { OlderAgentUnit } from "../../support/older-agent-unit.ts";

const scripts = ["boot/linux/25-guestagent.sh"];
const step = "boot/linux/25-guestagent.sh";
const wrapperPath = "usr/local/bin/den-guestagent";
const unitPath = "etc/systemd/system/den-guestagent.service";
const mountUnitPath = "etc/systemd/system/run-den-runtime.mount";
const stepFailed = `DEN| WARNING ${step} failed (exit 1)\n`;
const removedCopy = `removed the guest agent runtime an older den copied to /${AGENT_LIB}`;
// A QEMU guest's agent port, so that the step logs only what it did.
const virtioPort = { "dev/virtio-ports/io.den.agent.0": "" };

// The bundle's text matters only where it runs; elsewhere any text stands in for it.
const seed = agentSeed("// den-guestagent.js\n");

/** The wrapper 25-guestagent.sh writes, for the runtime folder `runtimeDir` (the mounted disk). */
function wrapperText(root: string, runtimeDir: string): string {
  return [
    "#!/bin/sh",
    "# den's guest agent: Bun's runtime, run from den's read-only DENRUNTIME disk, running den's bundle (written by den's",
    "# boot script 25-guestagent.sh, which mounts the disk at every boot).",
    `BUN_BE_BUN=1 exec '${runtimeDir}/bun' '${join(root, AGENT_LIB)}/den-guestagent.js' "$@"`,
    "",
  ].join("\n");
}

/** Every file under `dir`, by path relative to it, with its text. */
function readTree(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[relative(dir, path)] = readFileSync(path, "latin1");
  }
  return files;
}

/** Fake mount tools for a first boot that finds the disk through blkid; returns the boot's PATH and the tools' log. */
function fakeMount(fx: BootFixture, disk: string, blkid = 'printf "/dev/vdc\\n"'): { PATH: string; log: string } {
  const tools = join(fx.dir, "tools");
  const log = join(fx.dir, "mount.log");
  writeMountTools(tools, { disk, log, blkid });
  return { PATH: `${tools}:${process.env.PATH}`, log };
}

describe("25-guestagent.sh with Bun's runtime and den's bundle", () => {
  let bundle = "";
  beforeAll(async () => {
    bundle = await buildAgentBundle();
  });

  test("25-guestagent.sh installs the bundle, the wrapper and the unit, copies no runtime, and den-guestagent --version and yq run through the wrapper", async () => {
    await using fx = makeBootFixture({ scripts, seed: agentSeed(bundle) });
    const disk = makeRuntimeDisk(join(fx.dir, "disk"), { link: HOST_BUN });
    const run = fx.boot({ DEN_RUNTIME_MNT: disk });
    expect(run.console).not.toContain("WARNING");
    expect(run.exitCode).toBe(0);
    for (const line of [`installed /${AGENT_LIB}/den-guestagent.js`, "installed /usr/local/bin/den-guestagent", "wrote den-guestagent.service"]) {
      expect(run.console).toContain(`DEN| ${line}\n`);
    }
    expect(readdirSync(join(fx.root, AGENT_LIB))).toEqual(["den-guestagent.js"]);
    expect(fx.read(`${AGENT_LIB}/den-guestagent.js`)).toBe(bundle);
    expect(fx.read(wrapperPath)).toBe(wrapperText(fx.root, disk));
    expect(statSync(join(fx.root, wrapperPath)).mode & 0o777).toBe(0o755);

    const wrapper = join(fx.root, wrapperPath);
    const version = Bun.spawnSync([wrapper, "--version"]);
    expect(version.stdout.toString()).toMatch(/^den-guestagent \d+\.\d+\.\d+\S* \(commit \S+\)\n$/);
    expect(version.exitCode).toBe(0);
    const config = join(fx.dir, "app.yaml");
    writeFileSync(config, "a: 1 # keep me\n");
    writeFileSync(join(fx.dir, "expr"), ".b = 2");
    const yq = Bun.spawnSync([wrapper, "yq", "--expression-file", join(fx.dir, "expr"), "--format", "auto", "--in-place", config]);
    expect(yq.stderr.toString()).toBe("");
    expect(yq.exitCode).toBe(0);
    expect(readFileSync(config, "utf8")).toBe("a: 1 # keep me\nb: 2\n");
  });
});

test("the wrapper runs the runtime on the disk with BUN_BE_BUN=1, the installed bundle and its own arguments", async () => {
  await using fx = makeBootFixture({ scripts, seed });
  expect(fx.boot({ DEN_RUNTIME_MNT: makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME }) }).exitCode).toBe(0);
  const run = Bun.spawnSync([join(fx.root, wrapperPath), "serve", "--socket", "/tmp/a b"]);
  expect(run.stdout.toString()).toBe(`BUN_BE_BUN=1\n${join(fx.root, AGENT_LIB, "den-guestagent.js")}\nserve\n--socket\n/tmp/a b\n`);
});

test.each([
  { name: "the udev link", link: true, blkid: "exit 2" },
  { name: "blkid -L", link: false, blkid: 'printf "/dev/vdc\\n"' },
])("25-guestagent.sh mounts the DENRUNTIME disk found through $name read-only at /run/den/runtime, leaves it mounted and runs the runtime from there", async ({ link, blkid }) => {
  await using fx = makeBootFixture({ scripts, seed, rootFiles: link ? { "dev/disk/by-label/DENRUNTIME": "" } : {} });
  const disk = makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME });
  const { PATH, log } = fakeMount(fx, disk, blkid);
  const run = fx.boot({ PATH });
  expect(run.exitCode).toBe(0);
  const mountPoint = join(fx.root, RUNTIME_MOUNT);
  const dev = link ? join(fx.root, "dev/disk/by-label/DENRUNTIME") : "/dev/vdc";
  expect(readFileSync(log, "utf8")).toBe(`mount -t iso9660 -o ro,nodev,nosuid ${dev} ${mountPoint}\n`);
  expect(run.console).toContain(`DEN| mounted the DENRUNTIME disk ${link ? "/dev/disk/by-label/DENRUNTIME" : "/dev/vdc"} at /${RUNTIME_MOUNT}\n`);
  expect(readdirSync(mountPoint).sort()).toEqual(["bun", "bun.sha256"]);
  expect(readdirSync(join(fx.root, AGENT_LIB))).toEqual(["den-guestagent.js"]);
  expect(fx.read(wrapperPath)).toBe(wrapperText(fx.root, mountPoint));
  expect(fx.read(unitPath)).toContain("ExecStart=/usr/local/bin/den-guestagent serve\n");
});

test("25-guestagent.sh writes the unit, and a second boot with the disk mounted forks nothing but cmp on the bundle", async () => {
  await using fx = makeBootFixture({ scripts, seed, rootFiles: virtioPort });
  expect(fx.boot({ PATH: fakeMount(fx, makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME })).PATH }).exitCode).toBe(0);
  const unit = fx.read(unitPath) ?? "";
  for (const line of [
    "Requires=run-den-runtime.mount",
    "After=network.target run-den-runtime.mount",
    "ExecStart=/usr/local/bin/den-guestagent serve",
    "Restart=always",
    "OOMScoreAdjust=-500",
    "MemoryLow=64M",
    "StartLimitIntervalSec=0",
    "WantedBy=multi-user.target",
  ]) {
    expect(unit).toContain(`${line}\n`);
  }
  expect(fx.read(mountUnitPath)).toBe(
    "[Unit]\nDescription=den guest agent runtime (the read-only DENRUNTIME disk)\nDefaultDependencies=no\nConflicts=umount.target\nBefore=umount.target\n\n[Mount]\nWhat=/dev/disk/by-label/DENRUNTIME\nWhere=/run/den/runtime\nType=iso9660\nOptions=ro,nodev,nosuid\n",
  );
  const before = readTree(fx.root);

  // No fake tools: a second boot that reached for the disk would run the real mount and fail.
  const shims = join(fx.dir, "trace");
  writeTraceShims(shims, ["cmp", "cp", "mv", "chmod", "mkdir", "mount", "umount", "blkid", "stat", "rmdir", "rm", "cat", "install", "ln", "dirname", "id", "systemctl", "sha256sum", "head", "wc", "readlink", "touch"]);
  const second = fx.boot({ PATH: `${shims}:${process.env.PATH}` });
  expect(second.exitCode).toBe(0);
  const lines = stepLines(second.console, step);
  // `id -u` is boot.sh's den_real_guest, which decides that the systemctl steps are skipped here.
  expect(lines.filter((line) => line.startsWith("TRACE ") && line !== "TRACE id -u")).toEqual([`TRACE cmp -s ${fx.seed}/den-guestagent.js ${fx.root}/${AGENT_LIB}/den-guestagent.js`]);
  expect(lines.filter((line) => line.startsWith("DEN| "))).toEqual([]);
  const after = readTree(fx.root);
  for (const path of [wrapperPath, unitPath, mountUnitPath, `${AGENT_LIB}/den-guestagent.js`, `${RUNTIME_MOUNT}/bun`]) expect(after[path]).toBe(before[path]!);
});

const copiedRuntime = "\x7fELF\x02\x01\x01\x00\x00a runtime an older den copied";
test.each([
  {
    name: "an older den's agent binary at /usr/local/bin/den-guestagent",
    rootFiles: { [wrapperPath]: "\x7fELF\x02\x01\x01\x00\x00old den-guestagent binary" },
    held: wrapperPath,
    logs: [`installed /${AGENT_LIB}/den-guestagent.js`, "installed /usr/local/bin/den-guestagent"],
  },
  {
    name: "the runtime an older den copied to /usr/local/lib/den-guestagent, its runtime.id and a bun.new it left",
    rootFiles: {
      [wrapperPath]: `#!/bin/sh\nBUN_BE_BUN=1 exec /${AGENT_LIB}/bun /${AGENT_LIB}/den-guestagent.js "$@"\n`,
      [`${AGENT_LIB}/bun`]: copiedRuntime,
      [`${AGENT_LIB}/bun.new`]: copiedRuntime.slice(0, 5),
      [`${AGENT_LIB}/runtime.id`]: `${runtimeLine("a".repeat(64), "1.2.0")}\n`,
      [`${AGENT_LIB}/den-guestagent.js`]: "// an older bundle\n",
    },
    held: `${AGENT_LIB}/bun`,
    logs: [`installed /${AGENT_LIB}/den-guestagent.js`, "installed /usr/local/bin/den-guestagent", removedCopy],
  },
])("25-guestagent.sh upgrades $name to the wrapper, and a running old agent keeps its inode", async ({ rootFiles, held, logs }) => {
  await using fx = makeBootFixture({ scripts, seed, rootFiles });
  const path = join(fx.root, held);
  const fd = openSync(path, "r");
  try {
    const disk = makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME });
    const run = fx.boot({ DEN_RUNTIME_MNT: disk });
    expect(run.exitCode).toBe(0);
    // In this order: the copy goes only once no wrapper names it.
    expect(stepLines(run.console, step).filter((line) => line.startsWith("DEN| installed ") || line.startsWith("DEN| removed "))).toEqual(logs.map((line) => `DEN| ${line}`));
    expect(fx.read(wrapperPath)).toBe(wrapperText(fx.root, disk));
    expect(readdirSync(join(fx.root, AGENT_LIB))).toEqual(["den-guestagent.js"]);
    const text = (rootFiles as Record<string, string>)[held] ?? "";
    const buffer = Buffer.alloc(200);
    expect(buffer.subarray(0, readSync(fd, buffer, 0, 200, 0)).toString("latin1")).toBe(text);
  } finally {
    closeSync(fd);
  }
});

test("25-guestagent.sh replaces a changed bundle and leaves the mounted disk alone", async () => {
  await using fx = makeBootFixture({ scripts, seed, rootFiles: virtioPort });
  const { PATH, log } = fakeMount(fx, makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME }));
  expect(fx.boot({ PATH }).exitCode).toBe(0);
  writeFileSync(join(fx.seed, "den-guestagent.js"), "// a newer den-guestagent.js\n");
  const second = fx.boot({ PATH });
  expect(second.exitCode).toBe(0);
  expect(stepLines(second.console, step).filter((line) => line.startsWith("DEN| "))).toEqual([`DEN| installed /${AGENT_LIB}/den-guestagent.js`]);
  expect(fx.read(`${AGENT_LIB}/den-guestagent.js`)).toBe("// a newer den-guestagent.js\n");
  expect(readFileSync(log, "utf8").split("\n").filter(Boolean)).toHaveLength(1);
});

test("25-guestagent.sh mounts the disk of a newer den after a reboot, and keeps the wrapper", async () => {
  await using fx = makeBootFixture({ scripts, seed, rootFiles: virtioPort });
  const first = makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME });
  expect(fx.boot({ PATH: fakeMount(fx, first).PATH }).exitCode).toBe(0);
  const wrapper = fx.read(wrapperPath);
  // A reboot (/run starts empty) with a den of another runtime: a new seed line and a new disk.
  rmSync(join(fx.root, "run/den"), { recursive: true });
  const sha = "f".repeat(64);
  writeFileSync(join(fx.seed, "den-guestagent.runtime"), `${runtimeLine(sha, "1.3.1")}\n`);
  const { PATH } = fakeMount(fx, makeRuntimeDisk(join(fx.dir, "disk2"), { text: `${ECHO_RUNTIME}# newer\n` }, sha));
  const second = fx.boot({ PATH });
  expect(second.exitCode).toBe(0);
  expect(stepLines(second.console, step).filter((line) => line.startsWith("DEN| "))).toEqual([`DEN| mounted the DENRUNTIME disk /dev/vdc at /${RUNTIME_MOUNT}`]);
  expect(fx.read(`${RUNTIME_MOUNT}/bun.sha256`)).toBe(`${sha}\n`);
  expect(fx.read(wrapperPath)).toBe(wrapper);
});

const kept = "the installed den-guestagent is kept";
// The layout an older den left: its copied runtime must stay, since its wrapper still runs it.
const copiedLayout = {
  [wrapperPath]: `#!/bin/sh\nBUN_BE_BUN=1 exec /${AGENT_LIB}/bun /${AGENT_LIB}/den-guestagent.js "$@"\n`,
  [`${AGENT_LIB}/bun`]: copiedRuntime,
  [`${AGENT_LIB}/runtime.id`]: `${runtimeLine("a".repeat(64), "1.2.0")}\n`,
  [`${AGENT_LIB}/den-guestagent.js`]: "// an older bundle\n",
};
test.each([
  {
    name: "the seed has no runtime line",
    seedFiles: { "den-guestagent.js": "// bundle\n" },
    message: `WARNING the seed's den-guestagent.runtime is missing or not "<sha256> <target> <bun version>": ${kept}`,
  },
  {
    name: "no disk is labelled DENRUNTIME",
    disk: false,
    blkid: "exit 2",
    message: `WARNING no disk labelled DENRUNTIME (den's guest agent runtime) is attached: ${kept}`,
  },
  {
    name: "no disk is labelled DENRUNTIME and no agent was installed before",
    disk: false,
    installed: {},
    blkid: "exit 2",
    message: "WARNING no disk labelled DENRUNTIME (den's guest agent runtime) is attached: den-guestagent is not installed",
  },
  {
    name: "the disk cannot be mounted, under an older den's copied runtime",
    disk: false,
    installed: copiedLayout,
    blkid: "echo /dev/vdc",
    mount: 'echo "mount: /dev/vdc: can\'t read superblock." >&2\nexit 32',
    message: `WARNING cannot mount the DENRUNTIME disk /dev/vdc: mount: /dev/vdc: can't read superblock.; ${kept}`,
  },
  {
    name: "the disk carries another runtime",
    diskSha: "e".repeat(64),
    message: `WARNING the DENRUNTIME disk does not carry the runtime the seed names (bun 1.3.0 linux-x64, sha256 ${runtimeLine().split(" ")[0]}; the disk's bun.sha256: ${"e".repeat(64)}): ${kept}`,
  },
  {
    name: "the disk carries another runtime, under an older den's copied runtime",
    diskSha: "e".repeat(64),
    installed: copiedLayout,
    message: `WARNING the DENRUNTIME disk does not carry the runtime the seed names (bun 1.3.0 linux-x64, sha256 ${runtimeLine().split(" ")[0]}; the disk's bun.sha256: ${"e".repeat(64)}): ${kept}`,
  },
  {
    name: "the disk has no bun",
    noBun: true,
    message: `WARNING the DENRUNTIME disk does not carry the runtime the seed names (bun 1.3.0 linux-x64, sha256 ${runtimeLine().split(" ")[0]}; the disk's bun.sha256: ${runtimeLine().split(" ")[0]}): ${kept}`,
  },
])("25-guestagent.sh fails with a warning and keeps the installed agent untouched when $name", async ({ seedFiles, disk, diskSha, noBun, installed, blkid, mount, message }) => {
  const rootFiles: Record<string, string> = installed ?? { [wrapperPath]: "old agent" };
  await using fx = makeBootFixture({ scripts, seed: seedFiles ?? seed, rootFiles });
  const env: Record<string, string> = {};
  if (disk !== false) {
    env.DEN_RUNTIME_MNT = makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME }, diskSha);
    if (noBun) rmSync(join(env.DEN_RUNTIME_MNT, "bun"));
  }
  if (blkid) {
    const tools = join(fx.dir, "tools");
    writeMountTools(tools, { disk: join(fx.dir, "nothing"), log: join(fx.dir, "mount.log"), blkid });
    if (mount) writeExecutable(join(tools, "mount"), `#!/bin/bash\n${mount}\n`);
    env.PATH = `${tools}:${process.env.PATH}`;
  }
  const run = fx.boot(env);
  expect(run.exitCode).toBe(1);
  expect(run.console).toContain(`DEN| ${message}\n`);
  expect(run.console).toContain(stepFailed);
  expect(readTree(join(fx.root, "usr"))).toEqual(Object.fromEntries(Object.entries(rootFiles).map(([path, text]) => [relative("usr", path), text])));
  expect(fx.read(unitPath)).toBeUndefined();
  // A failed mount leaves no mount point behind.
  if (mount) expect(existsSync(join(fx.root, RUNTIME_MOUNT))).toBe(false);
});

test("25-guestagent.sh keeps the installed agent when the bundle cannot be copied, and the next boot installs it", async () => {
  await using fx = makeBootFixture({ scripts, seed, rootFiles: { [wrapperPath]: "old agent" } });
  const disk = makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME });
  const tools = join(fx.dir, "tools");
  const realCp = Bun.which("cp") ?? "/bin/cp";
  writeExecutable(join(tools, "cp"), `#!/bin/bash\ncase "$1" in *.js) echo "cp: error writing '$2': No space left on device" >&2; exit 1 ;; esac\nexec '${realCp}' "$@"\n`);
  const run = fx.boot({ DEN_RUNTIME_MNT: disk, PATH: `${tools}:${process.env.PATH}` });
  expect(run.exitCode).toBe(1);
  expect(run.console).toContain(
    `DEN| WARNING cannot copy den-guestagent.js to /${AGENT_LIB}: cp: error writing '${fx.root}/${AGENT_LIB}/den-guestagent.js.new': No space left on device; ${kept}\n`,
  );
  expect(run.console).toContain(stepFailed);
  expect(fx.read(wrapperPath)).toBe("old agent");
  expect(existsSync(join(fx.root, AGENT_LIB, "den-guestagent.js.new"))).toBe(false);
  const next = fx.boot({ DEN_RUNTIME_MNT: disk });
  expect(next.exitCode).toBe(0);
  expect(fx.read(wrapperPath)).toBe(wrapperText(fx.root, disk));
});

test("25-guestagent.sh skips quietly when the seed has no agent", async () => {
  await using fx = makeBootFixture({ scripts });
  const run = fx.boot();
  expect(run.exitCode).toBe(0);
  expect(run.console).toContain("no den-guestagent in the seed: skipped");
  expect(fx.read(unitPath)).toBeUndefined();
  expect(fx.read(wrapperPath)).toBeUndefined();
});

test.each([
  { name: "the virtio port when the VM has one, even with vsock", devices: ["dev/virtio-ports/io.den.agent.0", "dev/vsock"], serve: "serve" },
  { name: "vsock port 2222 when the guest has vsock and no virtio port (VZ)", devices: ["dev/vsock"], serve: "serve --vsock 2222" },
  { name: "the virtio port when neither exists yet", devices: [], serve: "serve" },
])("25-guestagent.sh serves $name", async ({ devices, serve }) => {
  await using fx = makeBootFixture({ scripts, seed, rootFiles: Object.fromEntries(devices.map((path) => [path, ""])) });
  expect(fx.boot({ DEN_RUNTIME_MNT: makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME }) }).exitCode).toBe(0);
  const execStart = (fx.read(unitPath) ?? "").split("\n").find((line) => line.startsWith("ExecStart="));
  expect(execStart).toBe(`ExecStart=/usr/local/bin/den-guestagent ${serve}`);
});

test("25-guestagent.sh rewrites the unit when the transport changes", async () => {
  await using fx = makeBootFixture({ scripts, seed, rootFiles: { "dev/virtio-ports/io.den.agent.0": "" } });
  const disk = makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME });
  expect(fx.boot({ DEN_RUNTIME_MNT: disk }).exitCode).toBe(0);
  rmSync(join(fx.root, "dev/virtio-ports"), { recursive: true });
  mkdirSync(join(fx.root, "dev"), { recursive: true });
  fx.write("dev/vsock", "");
  const second = fx.boot({ DEN_RUNTIME_MNT: disk });
  expect(second.console).toContain("DEN| wrote den-guestagent.service\n");
  expect(fx.read(unitPath)).toContain("ExecStart=/usr/local/bin/den-guestagent serve --vsock 2222\n");
});

test("25-guestagent.sh rewrites the unit an older den wrote, adding the start limit, the memory protection and the runtime disk's mount unit", async () => {
  await using fx = makeBootFixture({ scripts, seed, rootFiles: { [unitPath]: OlderAgentUnit, "dev/virtio-ports/io.den.agent.0": "" } });
  const run = fx.boot({ DEN_RUNTIME_MNT: makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME }) });
  expect(run.exitCode).toBe(0);
  expect(run.console).toContain("wrote den-guestagent.service");
  expect(run.console).toContain("wrote run-den-runtime.mount");
  for (const line of ["StartLimitIntervalSec=0", "Requires=run-den-runtime.mount", "MemoryLow=64M", "ExecStart=/usr/local/bin/den-guestagent serve"]) expect(fx.read(unitPath)).toContain(`${line}\n`);
});
