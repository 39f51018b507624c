import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseShellArgs } from "../../../lib/cli/shell.ts";
import { DenError } from "../../../lib/errors.ts";
import { makeInstance } from "../store/support/fake-instance.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";
import { fakeSshBin, makeRunningInstance } from "./support/running-instance.ts";

describe("parseShellArgs()", () => {
  test.each([
    { words: [], want: { name: "default", command: [] } },
    { words: ["vm"], want: { name: "vm", command: [] } },
    { words: ["vm", "ls", "-la"], want: { name: "vm", command: ["ls", "-la"] } },
    { words: ["vm", "--", "uname", "-a"], want: { name: "vm", command: ["uname", "-a"] } },
    { words: ["vm", "echo", "--", "x"], want: { name: "vm", command: ["echo", "--", "x"] } },
    { words: ["--workdir", "/tmp", "vm", "pwd"], want: { name: "vm", command: ["pwd"], workdir: "/tmp" } },
    { words: ["--workdir=/a b", "--shell", "/bin/bash", "vm"], want: { name: "vm", command: [], workdir: "/a b", shell: "/bin/bash" } },
    { words: ["--reconnect", "--", "vm", "--shell"], want: { name: "vm", command: ["--shell"], reconnect: true } },
    { words: ["vm", "--workdir", "/x"], want: { name: "vm", command: ["--workdir", "/x"] } },
    { words: ["--help"], want: { name: "default", command: [], help: true } },
    { words: ["--preserve-env", "--start", "vm", "env"], want: { name: "vm", command: ["env"], preserveEnv: true, start: true } },
    { words: ["--instance", "vm", "ls", "-la"], want: { name: "vm", command: ["ls", "-la"] } },
    { words: ["--instance=vm"], want: { name: "vm", command: [] } },
    { words: ["--instance", "vm", "--", "--shell"], want: { name: "vm", command: ["--shell"] } },
    { words: ["--instance", "vm", "--start", "uname"], want: { name: "vm", command: ["uname"], start: true } },
  ])("parseShellArgs() reads $words", ({ words, want }) => {
    expect(parseShellArgs(words)).toEqual({ reconnect: false, preserveEnv: false, start: false, help: false, ...want, command: [...want.command] });
  });

  test.each([{ words: ["--workdir"] }, { words: ["--bogus", "vm"] }, { words: ["--instance"] }, { words: ["--start=yes", "vm"] }])("parseShellArgs() refuses $words", ({ words }) => {
    expect(() => parseShellArgs(words)).toThrow(DenError);
  });
});

describe("den shell", () => {
  test("runs ssh with Lima's options and the script, and passes its exit code through", async () => {
    const denHome = await makeDenHome();
    await using _vm = await makeRunningInstance(denHome, "vm", { port: 41022 });
    const bin = await fakeSshBin(denHome);
    const run = await runDen(["shell", "--workdir", "/srv", "vm", "ls", "-la", "it's"], {
      denHome,
      env: { PATH: `${bin}:${process.env.PATH}`, FAKE_EXIT: "7", COLORTERM: "" },
    });
    expect(run.exitCode).toBe(7);
    const argv = run.stdout.trim().split("\n");
    expect(argv[0]).toBe("argv: ssh");
    expect(argv.slice(1, 5)).toEqual(["-F", "/dev/null", "-o", `IdentityFile=${join(denHome, "_config", "user")}`]);
    expect(argv).toContain(`ControlPath=${join(denHome, "vm", "ssh.sock")}`);
    expect(argv).toContain("Ciphers=^aes128-gcm@openssh.com,aes256-gcm@openssh.com");
    expect(argv).toContain("LogLevel=ERROR");
    expect(argv).not.toContain("-t");
    expect(argv.slice(-5)).toEqual(["-p", "41022", "127.0.0.1", "--", String.raw`cd /srv || exit 1 ; exec /bin/bash -l -c 'ls -la '\''it'\''\'\'''\''s'\'''`]);
  });

  test.each([
    { name: "keeps den's global flag words that follow the instance name for the command", command: ["grep", "--debug", "x"], script: "exec /bin/bash -l -c 'grep --debug x'" },
    {
      name: "passes -v and --version after the instance name to the command instead of printing den's version",
      command: ["ls", "-v", "--version"],
      script: "exec /bin/bash -l -c 'ls -v --version'",
    },
  ])("$name", async ({ command, script }) => {
    const denHome = await makeDenHome();
    await using _vm = await makeRunningInstance(denHome, "vm");
    const bin = await fakeSshBin(denHome);
    const run = await runDen(["shell", "vm", ...command], { denHome, env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).not.toContain("den version");
    expect(run.stdout.trim().split("\n").at(-1)).toBe(script);
  });

  test("--preserve-env passes the host's variables but not the blocked ones", async () => {
    const denHome = await makeDenHome();
    await using _vm = await makeRunningInstance(denHome, "vm");
    const bin = await fakeSshBin(denHome);
    const run = await runDen(["shell", "--preserve-env", "vm", "env"], { denHome, env: { PATH: `${bin}:${process.env.PATH}`, DEN_TEST_VALUE: "a b", SSH_AUTH_SOCK: "/x" } });
    expect(run.exitCode).toBe(0);
    const script = run.stdout.trim().split("\n").at(-1) ?? "";
    expect(script).toContain("exec env ");
    expect(script).toContain("'DEN_TEST_VALUE=a b'");
    expect(script).not.toContain("SSH_AUTH_SOCK");
    expect(script).not.toMatch(/ PATH=/);
  });

  test("--instance takes the name and leaves every word to the command", async () => {
    const denHome = await makeDenHome();
    await using _vm = await makeRunningInstance(denHome, "vm");
    const bin = await fakeSshBin(denHome);
    const run = await runDen(["shell", "--instance", "vm", "uname", "-a"], { denHome, env: { PATH: `${bin}:${process.env.PATH}` } });
    expect(run.exitCode).toBe(0);
    expect(run.stdout.trim().split("\n").at(-1)).toEndWith("-c 'uname -a'");
  });

  test.each([
    { name: "a stopped instance", running: false, hint: "hint: start it: den start vm" },
    { name: "a paused instance", running: true, hint: "hint: resume it: den resume vm" },
  ])("refuses $name with a hint", async ({ running, hint }) => {
    const denHome = await makeDenHome();
    const vm = running ? await makeRunningInstance(denHome, "vm", { status: "Paused" }) : undefined;
    if (!running) await makeInstance(denHome, "vm");
    try {
      const run = await runDen(["shell", "vm"], { denHome });
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain('error: Cannot connect to instance "vm"');
      expect(run.stderr).toContain(hint);
    } finally {
      await vm?.[Symbol.asyncDispose]();
    }
  });
});
