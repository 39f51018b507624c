// cidata/boot/linux/25-guestagent.sh on a guest without glibc or systemd (Alpine), through boot.sh in a fake root (see
// boot-fixture.ts and agent-fixture.ts): the musl runtime from the DENRUNTIME disk, libstdc++ and libgcc from apk,
// the OpenRC service with stand-in rc-update and rc-service, and the virtio port linked from sysfs as udev would.
// None of it ran in a real Alpine guest; the musl runtime itself runs against the host client in
// tests/lib/guestagent/musl-agent.test.ts.
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BootFixture, makeBootFixture } from "./boot-fixture.ts";
import { AGENT_LIB, agentSeed, buildAgentBundle, ECHO_RUNTIME, HOST_BUN, makeRuntimeDisk, RUNTIME_SHA, stepLines, writeExecutable } from "./agent-fixture.ts";
import { shellQuote } from "../../../lib/shell/quote.ts";

const scripts = ["boot/linux/25-guestagent.sh"];
const step = "boot/linux/25-guestagent.sh";
const wrapperPath = "usr/local/bin/den-guestagent";
const initdPath = "etc/init.d/den-guestagent";
const unitPath = "etc/systemd/system/den-guestagent.service";
const MUSL_SHA = "fedcba9876543210".repeat(4);
const kept = "den-guestagent is not installed";

/** The seed line naming the musl runtime (without its newline). */
function muslLine(sha = MUSL_SHA): string {
  return `${sha} linux-x64-musl 1.3.0`;
}

/** The seed of a den that attached the musl runtime too. */
function muslSeed(bundle = "// den-guestagent.js\n", line = muslLine()): Record<string, string> {
  return { ...agentSeed(bundle), "den-guestagent.runtime-musl": `${line}\n` };
}

/** An Alpine-like root: musl's loader, no glibc, libstdc++ and libgcc unless left out. */
function alpineRoot(options: { libs?: boolean; openrc?: boolean } = {}): Record<string, string> {
  return {
    "lib/ld-musl-x86_64.so.1": "",
    "dev/virtio-ports/io.den.agent.0": "",
    ...(options.libs !== false && { "usr/lib/libstdc++.so.6": "", "usr/lib/libgcc_s.so.1": "" }),
    ...(options.openrc && { "sbin/openrc-run": "", "etc/init.d/.keep": "" }),
  };
}

/** The DENRUNTIME disk with both runtimes (null: no bun-musl): `bun` prints "glibc" and its arguments, `bun-musl` "musl". */
function bothRuntimesDisk(fx: BootFixture, muslSha: string | null = MUSL_SHA): string {
  const disk = makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME.replace("\n", "\necho glibc\n") });
  if (muslSha !== null) {
    writeExecutable(join(disk, "bun-musl"), ECHO_RUNTIME.replace("\n", "\necho musl\n"));
    writeFileSync(join(disk, "bun-musl.sha256"), `${muslSha}\n`);
  }
  return disk;
}

/** Stand-ins for PATH in `dir`: each logs `name args` to `log`, then runs `body` (default: succeed). */
function writeLoggingTools(dir: string, log: string, tools: Record<string, string>): string {
  for (const [name, body] of Object.entries(tools)) writeExecutable(join(dir, name), `#!/bin/bash\necho "${name} $*" >>${shellQuote(log)}\n${body}\n`);
  return `${dir}:${process.env.PATH}`;
}

function openrcBoot(fx: BootFixture, tools: Record<string, string> = {}): { PATH: string; log: string } {
  const log = join(fx.dir, "rc.log");
  writeExecutable(join(fx.root, "sbin/openrc-run"), "#!/bin/sh\nexit 0\n");
  const PATH = writeLoggingTools(join(fx.dir, "rc-tools"), log, { "rc-update": "", "rc-service": "", ...tools });
  return { PATH, log };
}

test.each([
  { name: "a musl guest runs bun-musl", rootFiles: alpineRoot(), runtime: "bun-musl", prints: "musl" },
  { name: "a glibc guest runs bun", rootFiles: { "lib64/ld-linux-x86-64.so.2": "", "lib/x86_64-linux-gnu/libc.so.6": "" }, runtime: "bun", prints: "glibc" },
  {
    name: "a glibc guest with musl's loader beside glibc (Debian's musl package) runs bun",
    rootFiles: { "lib/ld-musl-x86_64.so.1": "", "lib/x86_64-linux-gnu/libc.so.6": "" },
    runtime: "bun",
    prints: "glibc",
  },
  {
    name: "a musl guest with gcompat's glibc loader links runs bun-musl",
    rootFiles: { ...alpineRoot(), "lib/ld-linux-x86-64.so.2": "", "lib64/ld-linux-x86-64.so.2": "" },
    runtime: "bun-musl",
    prints: "musl",
  },
])("25-guestagent.sh picks the disk's runtime by the guest's C library: $name", async ({ rootFiles, runtime, prints }) => {
  await using fx = makeBootFixture({ scripts, seed: muslSeed(), rootFiles });
  const disk = bothRuntimesDisk(fx);
  const run = fx.boot({ DEN_RUNTIME_MNT: disk });
  expect(run.console).not.toContain("WARNING");
  expect(run.exitCode).toBe(0);
  expect(fx.read(wrapperPath)).toContain(`BUN_BE_BUN=1 exec '${disk}/${runtime}' '${join(fx.root, AGENT_LIB)}/den-guestagent.js' "$@"\n`);
  const agent = Bun.spawnSync([join(fx.root, wrapperPath), "serve"]);
  expect(agent.stdout.toString()).toBe(`${prints}\nBUN_BE_BUN=1\n${join(fx.root, AGENT_LIB, "den-guestagent.js")}\nserve\n`);
});

test.each([
  {
    name: "the seed names no musl runtime",
    seed: agentSeed("// den-guestagent.js\n"),
    message: `WARNING this guest's C library is musl, and the seed's den-guestagent.runtime-musl is missing or not "<sha256> <target> <bun version>" (den adds the musl runtime for instances whose image location names Alpine): ${kept}`,
  },
  {
    name: "the seed's musl line is damaged",
    seed: muslSeed(undefined, "not a runtime line"),
    message: `WARNING this guest's C library is musl, and the seed's den-guestagent.runtime-musl is missing or not "<sha256> <target> <bun version>" (den adds the musl runtime for instances whose image location names Alpine): ${kept}`,
  },
  {
    name: "the disk carries no musl runtime",
    diskMusl: null,
    message: `WARNING the DENRUNTIME disk does not carry the musl runtime the seed names (bun 1.3.0 linux-x64-musl, sha256 ${MUSL_SHA}; the disk's bun-musl.sha256: none): ${kept}`,
  },
  {
    name: "the disk carries another musl runtime",
    diskMusl: "e".repeat(64),
    message: `WARNING the DENRUNTIME disk does not carry the musl runtime the seed names (bun 1.3.0 linux-x64-musl, sha256 ${MUSL_SHA}; the disk's bun-musl.sha256: ${"e".repeat(64)}): ${kept}`,
  },
])("25-guestagent.sh on a musl guest fails with a warning and installs nothing when $name", async ({ seed, message, ...rest }) => {
  await using fx = makeBootFixture({ scripts, seed: seed ?? muslSeed(), rootFiles: alpineRoot({ openrc: true }) });
  const { PATH, log } = openrcBoot(fx);
  const run = fx.boot({ DEN_RUNTIME_MNT: bothRuntimesDisk(fx, rest.diskMusl === undefined ? MUSL_SHA : rest.diskMusl), PATH });
  expect(run.exitCode).toBe(1);
  expect(stepLines(run.console, step)).toEqual([`DEN| ${message}`, `DEN| WARNING ${step} failed (exit 1)`]);
  expect(fx.read(wrapperPath)).toBeUndefined();
  expect(fx.read(initdPath)).toBeUndefined();
  expect(() => readFileSync(log, "utf8")).toThrow();
});

test.each([
  { name: "installs them with apk", apk: "exit 0", exitCode: 0, message: "installed libstdc++ and libgcc for Bun's musl runtime" },
  {
    name: "warns when apk cannot install them",
    apk: 'echo "fetch https://dl-cdn.example/alpine/v3.20/main/x86_64/APKINDEX.tar.gz" >&2\necho "ERROR: unable to select packages:" >&2\nexit 1',
    exitCode: 1,
    message: `WARNING cannot install libstdc++ and libgcc, which Bun's musl runtime needs (apk add libstdc++ libgcc): ERROR: unable to select packages:; ${kept}`,
  },
  { name: "warns when there is no apk", apk: undefined, exitCode: 1, message: `WARNING Bun's musl runtime needs libstdc++.so.6 and libgcc_s.so.1, which this guest lacks, and there is no apk to install them: ${kept}` },
])("25-guestagent.sh on a musl guest without libstdc++ $name", async ({ apk, exitCode, message }) => {
  await using fx = makeBootFixture({ scripts, seed: muslSeed(), rootFiles: alpineRoot({ libs: false }) });
  const log = join(fx.dir, "apk.log");
  const PATH = apk === undefined ? process.env.PATH! : writeLoggingTools(join(fx.dir, "apk-tools"), log, { apk });
  const run = fx.boot({ DEN_RUNTIME_MNT: bothRuntimesDisk(fx), PATH });
  expect(run.exitCode).toBe(exitCode);
  expect(run.console).toContain(`DEN| ${message}\n`);
  if (apk !== undefined) expect(readFileSync(log, "utf8")).toBe(`apk --root ${fx.root} add --no-progress libstdc++ libgcc\n`);
  expect(fx.read(wrapperPath) === undefined).toBe(exitCode !== 0);
});

test("25-guestagent.sh under OpenRC writes /etc/init.d/den-guestagent for supervise-daemon, adds it to the default runlevel and starts it, and writes no systemd unit", async () => {
  await using fx = makeBootFixture({ scripts, seed: muslSeed(), rootFiles: alpineRoot({ openrc: true }) });
  const { PATH, log } = openrcBoot(fx);
  const run = fx.boot({ DEN_RUNTIME_MNT: bothRuntimesDisk(fx), PATH });
  expect(run.exitCode).toBe(0);
  expect(stepLines(run.console, step).filter((line) => line.startsWith("DEN| "))).toEqual([
    `DEN| installed /${AGENT_LIB}/den-guestagent.js`,
    "DEN| installed /usr/local/bin/den-guestagent",
    "DEN| wrote /etc/init.d/den-guestagent",
    "DEN| added den-guestagent to the default runlevel",
    "DEN| started den-guestagent (OpenRC)",
  ]);
  expect(readFileSync(log, "utf8")).toBe("rc-update add den-guestagent default\nrc-service den-guestagent restart\n");
  expect(fx.read(unitPath)).toBeUndefined();
  expect(readdirSync(join(fx.root, "etc"))).not.toContain("systemd");
  const initd = fx.read(initdPath) ?? "";
  expect(statSync(join(fx.root, initdPath)).mode & 0o777).toBe(0o755);
  expect(initd.split("\n")[0]).toBe("#!/sbin/openrc-run");
  for (const line of [
    "supervisor=supervise-daemon",
    "command=/usr/local/bin/den-guestagent",
    'command_args="serve"',
    "respawn_delay=1",
    "respawn_max=0",
    "\tneed localmount",
    "\t\tmount -t iso9660 -o ro,nodev,nosuid \"$dev\" /run/den/runtime || return 1",
    "\tif [ ! -e '/dev/virtio-ports/io.den.agent.0' ]; then",
  ]) {
    expect(initd).toContain(`${line}\n`);
  }
  // The service file is an sh script for openrc-run: it must parse, and shellcheck must find nothing in it.
  const parse = Bun.spawnSync(["sh", "-n", join(fx.root, initdPath)]);
  expect(parse.stderr.toString()).toBe("");
  const lint = Bun.spawnSync(["shellcheck", "--shell=sh", "--exclude=SC2034", join(fx.root, initdPath)]);
  expect(lint.stdout.toString()).toBe("");
});

test("25-guestagent.sh under OpenRC leaves an enabled, running service alone on the next boot and restarts it for a new bundle", async () => {
  await using fx = makeBootFixture({ scripts, seed: muslSeed(), rootFiles: alpineRoot({ openrc: true }) });
  const { PATH, log } = openrcBoot(fx);
  const disk = bothRuntimesDisk(fx);
  expect(fx.boot({ DEN_RUNTIME_MNT: disk, PATH }).exitCode).toBe(0);
  // What rc-update did on a real guest.
  mkdirSync(join(fx.root, "etc/runlevels/default"), { recursive: true });
  symlinkSync("/etc/init.d/den-guestagent", join(fx.root, "etc/runlevels/default/den-guestagent"));
  writeFileSync(log, "");
  const second = fx.boot({ DEN_RUNTIME_MNT: disk, PATH });
  expect(second.exitCode).toBe(0);
  expect(stepLines(second.console, step).filter((line) => line.startsWith("DEN| "))).toEqual([]);
  expect(readFileSync(log, "utf8")).toBe("rc-service den-guestagent status\n");

  writeFileSync(join(fx.seed, "den-guestagent.js"), "// a newer den-guestagent.js\n");
  const third = fx.boot({ DEN_RUNTIME_MNT: disk, PATH });
  expect(stepLines(third.console, step).filter((line) => line.startsWith("DEN| "))).toEqual([`DEN| installed /${AGENT_LIB}/den-guestagent.js`, "DEN| started den-guestagent (OpenRC)"]);
});

test.each<{ name: string; tools: Record<string, string>; message: string }>([
  { name: "rc-update fails", tools: { "rc-update": 'echo " * rc-update: runlevel default does not exist" >&2; exit 1' }, message: "WARNING cannot add den-guestagent to the default runlevel:  * rc-update: runlevel default does not exist" },
  {
    name: "the service does not start",
    tools: { "rc-service": '[ "$2" = restart ] || exit 3\necho " * ERROR: den-guestagent failed to start" >&2; exit 1' },
    message: "WARNING cannot start den-guestagent:  * ERROR: den-guestagent failed to start",
  },
])("25-guestagent.sh under OpenRC warns when $name", async ({ tools, message }) => {
  await using fx = makeBootFixture({ scripts, seed: muslSeed(), rootFiles: alpineRoot({ openrc: true }) });
  const { PATH } = openrcBoot(fx, tools);
  const run = fx.boot({ DEN_RUNTIME_MNT: bothRuntimesDisk(fx), PATH });
  expect(run.exitCode).toBe(1);
  expect(run.console).toContain(`DEN| ${message}\n`);
  expect(run.console).toContain(`DEN| WARNING ${step} failed (exit 1)\n`);
});

test("25-guestagent.sh links a virtio port that only sysfs names (mdev makes no /dev/virtio-ports links) and serves it", async () => {
  const rootFiles: Record<string, string | undefined> = { ...alpineRoot({ openrc: true }), "dev/virtio-ports/io.den.agent.0": undefined };
  Object.assign(rootFiles, { "sys/class/virtio-ports/vport0p1/name": "org.qemu.guest_agent.0\n", "sys/class/virtio-ports/vport1p1/name": "io.den.agent.0\n", "dev/vport1p1": "" });
  await using fx = makeBootFixture({ scripts, seed: muslSeed(), rootFiles });
  const { PATH } = openrcBoot(fx);
  const run = fx.boot({ DEN_RUNTIME_MNT: bothRuntimesDisk(fx), PATH });
  expect(run.exitCode).toBe(0);
  expect(run.console).toContain("DEN| linked /dev/virtio-ports/io.den.agent.0 to /dev/vport1p1\n");
  expect(run.console).not.toContain("neither");
  expect(readlinkSync(join(fx.root, "dev/virtio-ports/io.den.agent.0"))).toBe("../vport1p1");
  expect(fx.read(initdPath)).toContain('command_args="serve"\n');
});

test("25-guestagent.sh on a glibc guest with systemd takes no OpenRC step even where openrc-run exists", async () => {
  await using fx = makeBootFixture({ scripts, seed: agentSeed("// den-guestagent.js\n"), rootFiles: { "dev/virtio-ports/io.den.agent.0": "", "run/systemd/system/.keep": "", "sbin/openrc-run": "", "etc/init.d/.keep": "" } });
  const { PATH, log } = openrcBoot(fx);
  const run = fx.boot({ DEN_RUNTIME_MNT: makeRuntimeDisk(join(fx.dir, "disk"), { text: ECHO_RUNTIME }, RUNTIME_SHA), PATH });
  expect(run.exitCode).toBe(0);
  expect(fx.read(unitPath)).toContain("ExecStart=/usr/local/bin/den-guestagent serve\n");
  expect(fx.read(initdPath)).toBeUndefined();
  expect(() => readFileSync(log, "utf8")).toThrow();
});

describe("boot.sh's yq provisioning", () => {
  let bundle = "";
  beforeAll(async () => {
    bundle = await buildAgentBundle();
  });
  test("yq provisioning on a musl guest runs the bundle with the disk's bun-musl", async () => {
    await using fx = makeBootFixture({
      scripts,
      env: { YQ_PROVISION_00000000_PATH: "/etc/app/conf.yaml", YQ_PROVISION_00000000_FORMAT: "yaml" },
      seed: { ...muslSeed(bundle), "provision.yq/00000000": ".a = 1" },
      rootFiles: alpineRoot(),
    });
    // bun fails loudly, bun-musl is a real runtime: the edit happens only through bun-musl.
    const disk = makeRuntimeDisk(join(fx.dir, "disk"), { text: "#!/bin/sh\necho 'the glibc runtime ran' >&2\nexit 3\n" });
    symlinkSync(HOST_BUN, join(disk, "bun-musl"));
    writeFileSync(join(disk, "bun-musl.sha256"), `${MUSL_SHA}\n`);
    const run = fx.boot({ DEN_RUNTIME_MNT: disk });
    expect(run.console).not.toContain("WARNING");
    expect(run.exitCode).toBe(0);
    expect(fx.read("etc/app/conf.yaml")).toBe("a: 1\n");
  });
});
