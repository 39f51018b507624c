// cidata/boot/linux/25-guestagent.sh through boot.sh in a fake root (see boot-fixture.ts and agent-fixture.ts); the
// systemctl steps and the real DENRUNTIME disk need a real guest and are covered by tests/e2e/guest-agent.test.ts.
import { beforeAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeBootFixture } from "./boot-fixture.ts";
import {
  AGENT_LIB,
  agentSeed,
  buildAgentBundle,
  ECHO_RUNTIME,
  HOST_BUN,
  makeRuntimeDisk,
  runtimeLine,
  stepLines,
  writeExecutable,
  writeTraceShims,
} from "./agent-fixture.ts";
import { OlderAgentUnit } from "../../support/older-agent-unit.ts";

const scripts = ["boot/linux/25-guestagent.sh"];
const step = "boot/linux/25-guestagent.sh";
const wrapperPath = "usr/local/bin/den-guestagent";
const unitPath = "etc/systemd/system/den-guestagent.service";
const runtimeInstalled = "installed the guest agent runtime (bun 1.3.0 linux-x64)";
const stepFailed = `DEN| WARNING ${step} failed (exit 1)\n`;

// The bundle's text matters only where it runs; elsewhere any text stands in for it.
const seed = agentSeed("// den-guestagent.js\n");

function wrapperText(root: string): string {
  const lib = join(root, AGENT_LIB);
  return `#!/bin/sh\n# den's guest agent: Bun's runtime running den's bundle (written by den's boot script 25-guestagent.sh).\nBUN_BE_BUN=1 exec '${lib}/bun' '${lib}/den-guestagent.js' "$@"\n`;
}

describe("25-guestagent.sh with Bun's runtime and den's bundle", () => {
  let bundle = "";
  beforeAll(async () => {
    bundle = await buildAgentBundle();
  });

  test("25-guestagent.sh installs the runtime from the DENRUNTIME disk, the bundle, the wrapper and the unit, and den-guestagent --version and yq run through the wrapper", async () => {
    await using fx = makeBootFixture({ scripts, seed: agentSeed(bundle) });
    const disk = makeRuntimeDisk(join(fx.dir, "disk"), { link: HOST_BUN });
    const run = fx.boot({ DEN_RUNTIME_MNT: disk });
    expect(run.console).not.toContain("WARNING");
    expect(run.exitCode).toBe(0);
    for (const line of [runtimeInstalled, `installed /${AGENT_LIB}/den-guestagent.js`, "installed /usr/local/bin/den-guestagent", "wrote den-guestagent.service"]) {
      expect(run.console).toContain(`DEN| ${line}\n`);
    }
    const runtime = lstatSync(join(fx.root, AGENT_LIB, "bun"));
    expect({ file: runtime.isFile(), mode: runtime.mode & 0o777, size: runtime.size }).toEqual({ file: true, mode: 0o755, size: statSync(HOST_BUN).size });
    expect(fx.read(`${AGENT_LIB}/runtime.id`)).toBe(`${runtimeLine()}\n`);
    expect(fx.read(`${AGENT_LIB}/den-guestagent.js`)).toBe(bundle);
    expect(fx.read(wrapperPath)).toBe(wrapperText(fx.root));
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

test("the wrapper runs the installed runtime with BUN_BE_BUN=1, the installed bundle and its own arguments", async () => {
  await using fx = makeBootFixture({ scripts, seed });
  expect(fx.boot({ DEN_RUNTIME_MNT: makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME }) }).exitCode).toBe(0);
  const run = Bun.spawnSync([join(fx.root, wrapperPath), "serve", "--socket", "/tmp/a b"]);
  expect(run.stdout.toString()).toBe(`BUN_BE_BUN=1\n${join(fx.root, AGENT_LIB, "den-guestagent.js")}\nserve\n--socket\n/tmp/a b\n`);
});

test("25-guestagent.sh writes the unit, and a second boot mounts nothing, copies nothing and runs only cmp on the bundle", async () => {
  await using fx = makeBootFixture({ scripts, seed });
  expect(fx.boot({ DEN_RUNTIME_MNT: makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME }) }).exitCode).toBe(0);
  const unit = fx.read(unitPath) ?? "";
  for (const line of ["ExecStart=/usr/local/bin/den-guestagent serve", "Restart=always", "OOMScoreAdjust=-500", "MemoryLow=64M", "StartLimitIntervalSec=0", "WantedBy=multi-user.target"]) expect(unit).toContain(line);
  const inode = statSync(join(fx.root, AGENT_LIB, "bun")).ino;

  // No DEN_RUNTIME_MNT: a second boot that reached for the disk would fail.
  const shims = join(fx.dir, "trace");
  writeTraceShims(shims, ["cmp", "cp", "mv", "chmod", "mkdir", "mount", "umount", "blkid", "stat", "rmdir", "rm", "cat", "install", "ln", "dirname", "id", "systemctl", "sha256sum", "head", "wc", "readlink", "touch"]);
  const second = fx.boot({ PATH: `${shims}:${process.env.PATH}` });
  expect(second.exitCode).toBe(0);
  const lines = stepLines(second.console, step);
  // `id -u` is boot.sh's den_real_guest, which decides that the systemctl steps are skipped here.
  expect(lines.filter((line) => line.startsWith("TRACE ") && line !== "TRACE id -u")).toEqual([`TRACE cmp -s ${fx.seed}/den-guestagent.js ${fx.root}/${AGENT_LIB}/den-guestagent.js`]);
  expect(statSync(join(fx.root, AGENT_LIB, "bun")).ino).toBe(inode);
});

test("25-guestagent.sh replaces an older den's agent binary with the wrapper, and a running old agent keeps its inode", async () => {
  const oldAgent = "\x7fELF\x02\x01\x01\x00\x00old den-guestagent binary";
  await using fx = makeBootFixture({ scripts, seed, rootFiles: { [wrapperPath]: oldAgent } });
  const path = join(fx.root, wrapperPath);
  const before = statSync(path).ino;
  const fd = openSync(path, "r");
  try {
    const run = fx.boot({ DEN_RUNTIME_MNT: makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME }) });
    expect(run.exitCode).toBe(0);
    expect(run.console).toContain("DEN| installed /usr/local/bin/den-guestagent\n");
    expect(fx.read(wrapperPath)).toBe(wrapperText(fx.root));
    expect(statSync(path).ino).not.toBe(before);
    const held = Buffer.alloc(100);
    expect(held.subarray(0, readSync(fd, held, 0, 100, 0)).toString("latin1")).toBe(oldAgent);
  } finally {
    closeSync(fd);
  }
});

test.each([
  {
    name: "a new den whose seed names another runtime",
    change: (fx: { dir: string; seed: string; root: string }) => {
      const sha = "f".repeat(64);
      writeFileSync(join(fx.seed, "den-guestagent.runtime"), `${runtimeLine(sha, "1.3.0")}\n`);
      rmSync(join(fx.dir, "disk"), { recursive: true });
      makeRuntimeDisk(join(fx.dir, "disk"), { text: `${ECHO_RUNTIME}# new\n` }, sha);
    },
  },
  { name: "a runtime removed from the guest", change: (fx: { root: string }) => rmSync(join(fx.root, AGENT_LIB, "bun")) },
])("25-guestagent.sh installs the runtime again after $name", async ({ change }) => {
  await using fx = makeBootFixture({ scripts, seed });
  const disk = makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME });
  expect(fx.boot({ DEN_RUNTIME_MNT: disk }).exitCode).toBe(0);
  change(fx);
  const second = fx.boot({ DEN_RUNTIME_MNT: disk });
  expect(second.exitCode).toBe(0);
  expect(second.console).toContain(`DEN| ${runtimeInstalled}\n`);
  expect(fx.read(`${AGENT_LIB}/bun`)).toBe(readFileSync(join(disk, "bun"), "utf8"));
  expect(fx.read(`${AGENT_LIB}/runtime.id`)).toBe(readFileSync(join(fx.seed, "den-guestagent.runtime"), "utf8"));
  expect(existsSync(join(fx.root, AGENT_LIB, "bun.new"))).toBe(false);
});

test("25-guestagent.sh replaces a changed bundle without touching the runtime", async () => {
  await using fx = makeBootFixture({ scripts, seed });
  const disk = makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME });
  expect(fx.boot({ DEN_RUNTIME_MNT: disk }).exitCode).toBe(0);
  const inode = statSync(join(fx.root, AGENT_LIB, "bun")).ino;
  writeFileSync(join(fx.seed, "den-guestagent.js"), "// a newer den-guestagent.js\n");
  const second = fx.boot();
  expect(second.exitCode).toBe(0);
  expect(second.console).toContain(`DEN| installed /${AGENT_LIB}/den-guestagent.js\n`);
  expect(second.console).not.toContain("runtime");
  expect(fx.read(`${AGENT_LIB}/den-guestagent.js`)).toBe("// a newer den-guestagent.js\n");
  expect(statSync(join(fx.root, AGENT_LIB, "bun")).ino).toBe(inode);
});

test.each([
  { name: "the udev link", link: true, blkid: "exit 2" },
  { name: "blkid -L", link: false, blkid: 'printf "/dev/vdc\\n"' },
])("25-guestagent.sh mounts the DENRUNTIME disk found through $name read-only and unmounts it", async ({ link, blkid }) => {
  await using fx = makeBootFixture({ scripts, seed, rootFiles: link ? { "dev/disk/by-label/DENRUNTIME": "" } : {} });
  const disk = makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME });
  const tools = join(fx.dir, "tools");
  const log = join(fx.dir, "log");
  // The fake mount fills the mount point with the disk's files; the fake umount empties it again.
  writeExecutable(join(tools, "mount"), `#!/bin/bash\necho "mount $*" >>'${log}'\ncp '${disk}'/* "\${@: -1}"\n`);
  writeExecutable(join(tools, "umount"), `#!/bin/bash\necho "umount $*" >>'${log}'\nrm -f "$1"/*\n`);
  writeExecutable(join(tools, "blkid"), `#!/bin/bash\n${blkid}\n`);
  const run = fx.boot({ PATH: `${tools}:${process.env.PATH}` });
  expect(run.exitCode).toBe(0);
  expect(run.console).toContain(`DEN| ${runtimeInstalled}\n`);
  const mountPoint = join(fx.root, "run/den-guestagent-runtime");
  const dev = link ? join(fx.root, "dev/disk/by-label/DENRUNTIME") : "/dev/vdc";
  expect(readFileSync(log, "utf8")).toBe(`mount -t iso9660 -o ro ${dev} ${mountPoint}\numount ${mountPoint}\n`);
  expect(existsSync(mountPoint)).toBe(false);
  expect(fx.read(`${AGENT_LIB}/bun`)).toBe(ECHO_RUNTIME);
});

const kept = "the installed den-guestagent is kept";
test.each([
  {
    name: "the seed has no runtime line",
    seedFiles: { "den-guestagent.js": "// bundle\n" },
    message: `WARNING the seed's den-guestagent.runtime is missing or not "<sha256> <target> <bun version>": ${kept}`,
  },
  {
    name: "no disk is labelled DENRUNTIME",
    disk: false,
    tools: { blkid: "exit 2" },
    message: `WARNING no disk labelled DENRUNTIME (den's guest agent runtime) is attached: ${kept}`,
  },
  {
    name: "no disk is labelled DENRUNTIME and no agent was installed before",
    disk: false,
    oldAgent: false,
    tools: { blkid: "exit 2" },
    message: "WARNING no disk labelled DENRUNTIME (den's guest agent runtime) is attached: den-guestagent is not installed",
  },
  {
    name: "the disk cannot be mounted",
    disk: false,
    tools: { blkid: 'echo /dev/vdc', mount: 'echo "mount: /dev/vdc: can\'t read superblock." >&2\nexit 32' },
    message: `WARNING cannot mount the DENRUNTIME disk /dev/vdc: mount: /dev/vdc: can't read superblock.; ${kept}`,
  },
  {
    name: "the disk carries another runtime",
    diskSha: "e".repeat(64),
    message: `WARNING the DENRUNTIME disk does not carry the runtime the seed names (bun 1.3.0 linux-x64, sha256 ${runtimeLine().split(" ")[0]}; the disk's bun.sha256: ${"e".repeat(64)}): ${kept}`,
  },
  {
    name: "the copy runs out of space",
    tools: { cp: `head -c 3 "$1" >"$2"\necho "cp: error writing '$2': No space left on device" >&2\nexit 1` },
    message: `WARNING cannot copy the guest agent runtime to /${AGENT_LIB}: cp: error writing 'ROOT/${AGENT_LIB}/bun.new': No space left on device; ${kept}`,
  },
  {
    name: "the copy comes out short",
    tools: { cp: `head -c 3 "$1" >"$2"` },
    message: `WARNING the copied guest agent runtime has 3 bytes, not ${ECHO_RUNTIME.length}: ${kept}`,
  },
])("25-guestagent.sh fails with a warning, keeps the installed agent and installs nothing when $name", async ({ seedFiles, disk, diskSha, oldAgent, tools, message }) => {
  await using fx = makeBootFixture({ scripts, seed: seedFiles ?? seed, rootFiles: oldAgent === false ? {} : { [wrapperPath]: "old agent" } });
  const env: Record<string, string> = {};
  if (disk !== false) env.DEN_RUNTIME_MNT = makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME }, diskSha);
  if (tools) {
    const dir = join(fx.dir, "tools");
    for (const [name, body] of Object.entries(tools)) writeExecutable(join(dir, name), `#!/bin/bash\n${body}\n`);
    env.PATH = `${dir}:${process.env.PATH}`;
  }
  const run = fx.boot(env);
  expect(run.exitCode).toBe(1);
  expect(run.console).toContain(`DEN| ${message.replaceAll("ROOT", fx.root)}\n`);
  expect(run.console).toContain(stepFailed);
  expect(fx.read(wrapperPath)).toBe(oldAgent === false ? undefined : "old agent");
  for (const file of ["bun", "bun.new", "runtime.id", "den-guestagent.js"]) expect(existsSync(join(fx.root, AGENT_LIB, file))).toBe(false);
  expect(fx.read(unitPath)).toBeUndefined();
});

test("25-guestagent.sh keeps the installed agent when the bundle cannot be copied, and the next boot installs it", async () => {
  await using fx = makeBootFixture({ scripts, seed, rootFiles: { [wrapperPath]: "old agent" } });
  const disk = makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME });
  const tools = join(fx.dir, "tools");
  const realCp = Bun.which("cp") ?? "/bin/cp";
  writeExecutable(join(tools, "cp"), `#!/bin/bash\ncase "$1" in *.js) echo "cp: error writing '$2': No space left on device" >&2; exit 1 ;; esac\nexec '${realCp}' "$@"\n`);
  const run = fx.boot({ DEN_RUNTIME_MNT: disk, PATH: `${tools}:${process.env.PATH}` });
  expect(run.exitCode).toBe(1);
  expect(run.console).toContain(`DEN| ${runtimeInstalled}\n`);
  expect(run.console).toContain(
    `DEN| WARNING cannot copy den-guestagent.js to /${AGENT_LIB}: cp: error writing '${fx.root}/${AGENT_LIB}/den-guestagent.js.new': No space left on device; ${kept}\n`,
  );
  expect(run.console).toContain(stepFailed);
  expect(fx.read(wrapperPath)).toBe("old agent");
  expect(existsSync(join(fx.root, AGENT_LIB, "den-guestagent.js.new"))).toBe(false);
  const next = fx.boot();
  expect(next.exitCode).toBe(0);
  expect(next.console).not.toContain("runtime");
  expect(fx.read(wrapperPath)).toBe(wrapperText(fx.root));
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
  const second = fx.boot();
  expect(second.console).toContain("DEN| wrote den-guestagent.service\n");
  expect(fx.read(unitPath)).toContain("ExecStart=/usr/local/bin/den-guestagent serve --vsock 2222\n");
});

test("25-guestagent.sh rewrites the unit an older den wrote, adding the start limit and memory protection", async () => {
  await using fx = makeBootFixture({ scripts, seed, rootFiles: { [unitPath]: OlderAgentUnit, "dev/virtio-ports/io.den.agent.0": "" } });
  const run = fx.boot({ DEN_RUNTIME_MNT: makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME }) });
  expect(run.exitCode).toBe(0);
  expect(run.console).toContain("wrote den-guestagent.service");
  for (const line of ["StartLimitIntervalSec=0", "MemoryLow=64M", "ExecStart=/usr/local/bin/den-guestagent serve"]) expect(fx.read(unitPath)).toContain(`${line}\n`);
});
