import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { renderShowSsh } from "../../../lib/cli/show-ssh.ts";
import type { SshOption } from "../../../lib/ssh/ssh-options.ts";
import { makeInstance } from "../store/support/fake-instance.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";
import { fakeSshBin, makeRunningInstance } from "./support/running-instance.ts";

const options: SshOption[] = [
  ["IdentityFile", "/home/u/.den/_config/user"],
  ["User", "u"],
  ["ControlPath", "/home/u/my den/vm/ssh.sock"],
  ["Hostname", "127.0.0.1"],
  ["Port", "60022"],
];

describe("renderShowSsh()", () => {
  test.each([
    {
      format: "cmd" as const,
      want: `ssh -o IdentityFile=/home/u/.den/_config/user -o User=u -o 'ControlPath="/home/u/my den/vm/ssh.sock"' -o Hostname=127.0.0.1 -o Port=60022 den-vm\n`,
    },
    { format: "args" as const, want: `-o IdentityFile=/home/u/.den/_config/user -o User=u -o 'ControlPath="/home/u/my den/vm/ssh.sock"' -o Hostname=127.0.0.1 -o Port=60022\n` },
    { format: "options" as const, want: 'IdentityFile=/home/u/.den/_config/user\nUser=u\nControlPath="/home/u/my den/vm/ssh.sock"\nHostname=127.0.0.1\nPort=60022\n' },
    { format: "config" as const, want: 'Host den-vm\n  IdentityFile /home/u/.den/_config/user\n  User u\n  ControlPath "/home/u/my den/vm/ssh.sock"\n  Hostname 127.0.0.1\n  Port 60022\n' },
  ])("renders the $format format", ({ format, want }) => {
    expect(renderShowSsh(format, { name: "vm", options })).toBe(want);
  });
});

describe("den show-ssh", () => {
  test("prints den's options for a running instance, ending with its port", async () => {
    const denHome = await makeDenHome();
    await using _vm = await makeRunningInstance(denHome, "vm", { port: 41022 });
    const bin = await fakeSshBin(denHome);
    const run = await runDen(["show-ssh", "--format", "options", "vm"], { denHome, env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines[0]).toBe(`IdentityFile=${join(denHome, "_config", "user")}`);
    expect(lines).toContain("Hostname=127.0.0.1");
    expect(lines).toContain("Port=41022");
    expect(run.stderr).toContain(`ssh -F ${join(denHome, "vm", "ssh.config")} den-vm`);
  });

  test.each([{ format: "json" }, { format: "url" }])("refuses --format $format", async ({ format }) => {
    const denHome = await makeDenHome();
    const run = await runDen(["show-ssh", "--format", format, "vm"], { denHome });
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain("Allowed choices are cmd, args, options, config");
  });

  test("refuses a stopped instance whose port is not known yet", async () => {
    const denHome = await makeDenHome();
    await makeInstance(denHome, "vm");
    const run = await runDen(["show-ssh", "vm"], { denHome });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("hint: start it first: den start vm");
  });
});
