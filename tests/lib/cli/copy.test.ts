import { describe, expect, test } from "bun:test";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type CopyGuest, parseCopyPath, scpArgv, scpHostOperand } from "../../../lib/cli/copy.ts";
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

describe("den copy", () => {
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
