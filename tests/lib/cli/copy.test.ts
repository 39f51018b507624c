import { describe, expect, test } from "bun:test";
import { mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { type CopyGuest, type CopyPath, chooseCopyBackend, needsGuestRsyncCheck, parseCopyPath, rsyncArgv, rsyncRecursivePaths, scpArgv, scpHostOperand } from "../../../lib/cli/copy.ts";
import { DenError } from "../../../lib/errors.ts";
import type { SshOption } from "../../../lib/ssh/ssh-options.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";
import { fakeSshBin, makeRunningInstance } from "./support/running-instance.ts";

test.each([
  { arg: "vm:/etc/hosts", want: { kind: "guest", instance: "vm", path: "/etc/hosts" } },
  { arg: "my-vm.2:notes.txt", want: { kind: "guest", instance: "my-vm.2", path: "notes.txt" } },
  { arg: "vm:", want: { kind: "guest", instance: "vm", path: "" } },
  { arg: "./a:b", want: { kind: "host", path: "./a:b" } },
  { arg: "/x/y:z", want: { kind: "host", path: "/x/y:z" } },
  { arg: "plain.txt", want: { kind: "host", path: "plain.txt" } },
  { arg: "_config:user", want: { kind: "guest", instance: "_config", path: "user" } },
  { arg: "..:x", want: { kind: "guest", instance: "..", path: "x" } },
  { arg: ":x", want: { kind: "guest", instance: "", path: "x" } },
  { arg: "../vm:x", want: { kind: "host", path: "../vm:x" } },
])("parseCopyPath() reads $arg", ({ arg, want }) => {
  expect(parseCopyPath(arg)).toEqual(want as ReturnType<typeof parseCopyPath>);
});

test.each([
  { path: "/abs/a:b", want: "/abs/a:b" },
  { path: "./a:b", want: "./a:b" },
  { path: "../vm:x", want: "../vm:x" },
  { path: "plain.txt", want: "./plain.txt" },
  { path: "-oProxyCommand=x", want: "./-oProxyCommand=x" },
  { path: "dir/x:y", want: "./dir/x:y" },
])("scpHostOperand($path) is $want, which scp cannot take for a remote path or an option", ({ path, want }) => {
  expect(scpHostOperand(path)).toBe(want);
});

const options = (name: string, port: number): SshOption[] => [
  ["IdentityFile", "/h/_config/user"],
  ["User", "u"],
  ["ControlMaster", "auto"],
  ["ControlPath", `/h/${name}/ssh.sock`],
  ["Hostname", "127.0.0.1"],
  ["Port", String(port)],
];
const guests = new Map<string, CopyGuest>([
  ["a", { user: "u", port: 2201, options: options("a", 2201) }],
  ["b", { user: "u", port: 2202, options: options("b", 2202) }],
]);
const modern = { major: 9, minor: 6, patch: 1 };

describe("scpArgv()", () => {
  test.each([
    {
      name: "host to one guest, recursive",
      args: ["./dir", "a:/tmp/"],
      recursive: true,
      want: ["-o", "IdentityFile=/h/_config/user", "-o", "User=u", "-o", "ControlMaster=auto", "-o", "ControlPath=/h/a/ssh.sock", "-q", "-r", "-P", "2201", "-3", "--", "./dir", "u@127.0.0.1:/tmp/"],
    },
    {
      name: "guest to guest",
      args: ["a:x", "b:/y"],
      recursive: false,
      want: ["-o", "IdentityFile=/h/_config/user", "-q", "-3", "--", "scp://u@127.0.0.1:2201/x", "scp://u@127.0.0.1:2202//y"],
    },
    { name: "host paths that scp could misread", args: ["p", "-q", "./a:b", "/x:y", "../c:d", "a:/t"], recursive: false, want: ["-o", "IdentityFile=/h/_config/user", "-o", "User=u", "-o", "ControlMaster=auto", "-o", "ControlPath=/h/a/ssh.sock", "-q", "-P", "2201", "-3", "--", "./p", "./-q", "./a:b", "/x:y", "../c:d", "u@127.0.0.1:/t"] },
  ])("scpArgv() builds $name", ({ args, recursive, want }) => {
    expect(scpArgv(args.map(parseCopyPath), { guests, recursive, verbose: false, opensshVersion: modern })).toEqual(["scp", "-F", "/dev/null", ...want]);
  });

  test("scpArgv() passes -v instead of -q when verbose", () => {
    expect(scpArgv([parseCopyPath("p"), parseCopyPath("q")], { guests, recursive: false, verbose: true })).toContain("-v");
  });

  test("scpArgv() refuses two guests with an OpenSSH older than 8.0", () => {
    expect(() => scpArgv([parseCopyPath("a:x"), parseCopyPath("b:y")], { guests, recursive: false, verbose: false, opensshVersion: { major: 7, minor: 9, patch: 0 } })).toThrow(DenError);
  });
});

describe("chooseCopyBackend()", () => {
  test.each([
    { requested: "scp" as const, guestPaths: 1, hostHasRsync: true, guestsHaveRsync: true, want: "scp" },
    { requested: "auto" as const, guestPaths: 1, hostHasRsync: true, guestsHaveRsync: true, want: "rsync" },
    { requested: "auto" as const, guestPaths: 1, hostHasRsync: false, guestsHaveRsync: false, want: "scp" },
    { requested: "auto" as const, guestPaths: 1, hostHasRsync: true, guestsHaveRsync: false, want: "scp" },
    { requested: "auto" as const, guestPaths: 2, hostHasRsync: true, guestsHaveRsync: true, want: "scp" },
    { requested: "rsync" as const, guestPaths: 1, hostHasRsync: true, guestsHaveRsync: true, want: "rsync" },
  ])("chooses $want for --backend $requested with $guestPaths guest path(s), rsync on host $hostHasRsync and guest $guestsHaveRsync", ({ requested, want, ...facts }) => {
    expect(chooseCopyBackend(requested, facts)).toBe(want);
  });

  test.each([
    { name: "two guest paths", guestPaths: 2, hostHasRsync: true, guestsHaveRsync: true, message: "between two guest paths" },
    { name: "no rsync on the host", guestPaths: 1, hostHasRsync: false, guestsHaveRsync: true, message: "not installed on the host" },
    { name: "no rsync in the guest", guestPaths: 1, hostHasRsync: true, guestsHaveRsync: false, message: "not installed in the guest" },
  ])("refuses --backend rsync with $name", ({ message, ...facts }) => {
    expect(() => chooseCopyBackend("rsync", facts)).toThrow(message);
  });

  test.each([
    { requested: "scp" as const, guestPaths: 1, hostHasRsync: true, want: false },
    { requested: "auto" as const, guestPaths: 1, hostHasRsync: true, want: true },
    { requested: "auto" as const, guestPaths: 1, hostHasRsync: false, want: false },
    { requested: "rsync" as const, guestPaths: 2, hostHasRsync: true, want: false },
  ])("needsGuestRsyncCheck() is $want for $requested, $guestPaths guest path(s), host rsync $hostHasRsync", ({ requested, want, ...facts }) => {
    expect(needsGuestRsyncCheck(requested, facts)).toBe(want);
  });
});

describe("rsyncArgv()", () => {
  const guest: CopyGuest = { user: "u", port: 60022, options: [["User", "u"], ["ControlPath", "/h/vm/ssh.sock"], ["Hostname", "127.0.0.1"], ["Port", "60022"]] };
  test.each([
    {
      name: "copies quietly with -a and ssh as -e",
      paths: [parseCopyPath("notes.txt"), parseCopyPath("vm:/tmp/")],
      options: { recursive: false, verbose: false },
      want: ["rsync", "-a", "-q", "-e", "ssh -F /dev/null -o User=u -o ControlPath=/h/vm/ssh.sock -p 60022", "./notes.txt", "u@127.0.0.1:/tmp/"],
    },
    {
      name: "shows progress with -v and copies folders as scp -r does",
      paths: [parseCopyPath("./dir"), parseCopyPath("vm:/tmp/")],
      options: { recursive: true, verbose: true },
      want: ["rsync", "-a", "-v", "--progress", "-r", "-e", "ssh -F /dev/null -o User=u -o ControlPath=/h/vm/ssh.sock -p 60022", "./dir", "u@127.0.0.1:/tmp/"],
    },
  ])("$name", ({ paths, options, want }) => {
    expect(rsyncArgv(paths, { guest, ...options })).toEqual([...want]);
  });
});

describe("rsyncRecursivePaths()", () => {
  const paths = (...words: string[]): CopyPath[] => words.map(parseCopyPath);
  test.each([
    { from: ["./dir", "vm:/tmp/"], want: ["./dir", "/tmp/"] },
    { from: ["./dir", "vm:/tmp/x"], want: ["./dir/", "/tmp/x/"] },
    { from: ["./dir/", "vm:/tmp/x"], want: ["./dir", "/tmp/x/"] },
    { from: ["vm:/etc/dir", "./out/"], want: ["/etc/dir/", "./out"] },
  ])("turns $from into $want", ({ from, want }) => {
    expect(rsyncRecursivePaths(paths(...from)).map((path) => path.path)).toEqual([...want]);
  });
});

describe("den copy", () => {
  // PATH holds only the fake ssh and scp (and the basename they call): the host has no rsync.
  test.each([
    { backend: "auto", exitCode: 0, stdout: "argv: scp", stderr: "" },
    { backend: "rsync", exitCode: 1, stdout: "", stderr: "Cannot copy with rsync: rsync is not installed on the host" },
  ])("--backend $backend on a host without rsync", async ({ backend, exitCode, stdout, stderr }) => {
    const denHome = await makeDenHome();
    await using _vm = await makeRunningInstance(denHome, "vm");
    const bin = await fakeSshBin(denHome);
    await symlink(Bun.which("basename") as string, join(bin, "basename"));
    const run = await runDen(["copy", "--backend", backend, "vm:/etc/hostname", "./"], { denHome, env: { PATH: bin } });
    expect(run.exitCode).toBe(exitCode);
    expect(run.stdout).toStartWith(stdout);
    expect(run.stderr).toContain(stderr);
  });

  test("runs scp against the running instance and passes its exit code through", async () => {
    const denHome = await makeDenHome();
    await using _vm = await makeRunningInstance(denHome, "vm", { port: 43022 });
    const bin = await fakeSshBin(denHome);
    await mkdir(join(denHome, "src"));
    const run = await runDen(["cp", "-r", "./src", "vm:/tmp/dst"], { denHome, env: { PATH: `${bin}:${process.env.PATH}`, FAKE_EXIT: "3", USER: "tester" } });
    expect(run.exitCode).toBe(3);
    const argv = run.stdout.trim().split("\n");
    expect(argv[0]).toBe("argv: scp");
    expect(argv.slice(-7)).toEqual(["-r", "-P", "43022", "-3", "--", "./src", expect.stringMatching(/^[^@]+@127\.0\.0\.1:\/tmp\/dst$/)]);
  });

  test.each([
    { name: "an empty instance name", args: [":/etc/hostname", "out"], says: 'Invalid instance name "": must not be empty' },
    { name: "a traversal name", args: ["..:/etc/hostname", "out"], says: 'Invalid instance name ".."' },
    { name: "only host paths that look remote", args: ["../../victim:/etc/hostname", "./stopped:/x", "out"], says: "Cannot copy: no path names an instance" },
  ])("refuses $name before running scp", async ({ args, says }) => {
    const denHome = await makeDenHome();
    const bin = await fakeSshBin(denHome);
    const run = await runDen(["copy", ...args], { denHome, env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`error: ${says}`);
    expect(run.stderr).toMatch(/\nhint: \S/);
    expect(run.stdout).not.toContain("argv: scp");
  });

  test("names a host source that does not exist instead of leaving it to scp", async () => {
    const denHome = await makeDenHome();
    await using _vm = await makeRunningInstance(denHome, "vm", { port: 43023 });
    const bin = await fakeSshBin(denHome);
    const run = await runDen(["copy", "missing.txt", "vm:/tmp/"], { denHome, env: { PATH: `${bin}:${process.env.PATH}`, USER: "tester" } });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`error: Cannot copy from "${join(denHome, "missing.txt")}": no such file or folder (ENOENT)`);
    expect(run.stderr).toContain("hint: check the path");
    expect(run.stdout).not.toContain("argv: scp");
  });

  test("refuses a guest path of an instance that is not running", async () => {
    const denHome = await makeDenHome();
    const run = await runDen(["copy", "x", "nope:/tmp"], { denHome });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('Cannot find instance "nope"');
  });
});
