import { describe, expect, test } from "bun:test";
import { type CopyGuest, parseCopyPath, scpArgv } from "../../../lib/cli/copy.ts";
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
])("parseCopyPath() reads $arg", ({ arg, want }) => {
  expect(parseCopyPath(arg)).toEqual(want as ReturnType<typeof parseCopyPath>);
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
    { name: "host to host", args: ["p", "q"], recursive: false, want: ["-q", "-3", "--", "p", "q"] },
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
    const run = await runDen(["cp", "-r", "./src", "vm:/tmp/dst"], { denHome, env: { PATH: `${bin}:${process.env.PATH}`, FAKE_EXIT: "3", USER: "tester" } });
    expect(run.exitCode).toBe(3);
    const argv = run.stdout.trim().split("\n");
    expect(argv[0]).toBe("argv: scp");
    expect(argv.slice(-7)).toEqual(["-r", "-P", "43022", "-3", "--", "./src", expect.stringMatching(/^[^@]+@127\.0\.0\.1:\/tmp\/dst$/)]);
  });

  test("refuses a guest path of an instance that is not running", async () => {
    const denHome = await makeDenHome();
    const run = await runDen(["copy", "x", "nope:/tmp"], { denHome });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('Cannot find instance "nope"');
  });
});
