import { describe, expect, test } from "bun:test";
import { mkdir, realpath } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../../../lib/errors.ts";
import { guestPathOf, shellScript, shellSshArgs, type ShellScriptParams } from "../../../lib/ssh/shell-command.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

const home = "/Users/me";
const homeMount = [{ location: "~", mountPoint: null }];
const base = { hostCwd: "/Users/me/src", hostHome: home, mounts: homeMount, userShell: undefined } satisfies ShellScriptParams;

describe("shellScript()", () => {
  test.each([
    { name: "a cwd inside the home mount", params: base, want: `cd /Users/me/src || cd /Users/me ; exec "$SHELL" -l` },
    { name: "the cwd equal to the mounted home", params: { ...base, hostCwd: home }, want: `cd /Users/me ; exec "$SHELL" -l` },
    { name: "a cwd outside every mount", params: { ...base, hostCwd: "/opt/work" }, want: `cd /Users/me ; exec "$SHELL" -l` },
    { name: "no mounts at all", params: { ...base, mounts: [] }, want: `exec "$SHELL" -l` },
    {
      name: "a cwd in a mount while home is not mounted",
      params: { ...base, hostCwd: "/data/proj", mounts: [{ location: "/data", mountPoint: "/mnt/data" }] },
      want: `cd /mnt/data/proj ; exec "$SHELL" -l`,
    },
    {
      name: "a mount point different from its location",
      params: { ...base, mounts: [{ location: "/Users/me", mountPoint: "/home/me.linux/host" }] },
      want: `cd /home/me.linux/host/src || cd /home/me.linux/host ; exec "$SHELL" -l`,
    },
    {
      name: "the innermost of nested mounts",
      params: { ...base, hostCwd: "/Users/me/src/den/lib", mounts: [...homeMount, { location: "/Users/me/src/den/", mountPoint: "/work" }] },
      want: `cd /work/lib || cd /Users/me ; exec "$SHELL" -l`,
    },
    {
      name: "a sibling folder whose name extends the mount's",
      params: { ...base, hostCwd: "/data2/x", mounts: [{ location: "/data", mountPoint: "/mnt" }] },
      want: `exec "$SHELL" -l`,
    },
    {
      name: "a folder named like a parent reference",
      params: { ...base, hostCwd: "/data/..x", mounts: [{ location: "/data", mountPoint: "/mnt" }] },
      want: `cd /mnt/..x ; exec "$SHELL" -l`,
    },
    { name: "a root mount", params: { ...base, hostCwd: "/srv/a", mounts: [{ location: "/", mountPoint: "/host" }] }, want: `cd /host/srv/a || cd /host/Users/me ; exec "$SHELL" -l` },
    { name: "a cwd with a space", params: { ...base, hostCwd: "/Users/me/my src" }, want: `cd '/Users/me/my src' || cd /Users/me ; exec "$SHELL" -l` },
    { name: "a cwd with a single quote", params: { ...base, hostCwd: "/Users/me/it's" }, want: `cd '/Users/me/it'\\''s' || cd /Users/me ; exec "$SHELL" -l` },
    { name: "a cwd with a dollar and backquotes", params: { ...base, hostCwd: "/Users/me/$HOME`id`" }, want: `cd '/Users/me/$HOME\`id\`' || cd /Users/me ; exec "$SHELL" -l` },
    { name: "a unicode cwd", params: { ...base, hostCwd: "/Users/me/données/日本" }, want: `cd '/Users/me/données/日本' || cd /Users/me ; exec "$SHELL" -l` },
    { name: "a home with a space", params: { ...base, hostHome: "/Users/J Doe", hostCwd: "/Users/J Doe/x" }, want: `cd '/Users/J Doe/x' || cd '/Users/J Doe' ; exec "$SHELL" -l` },
    { name: "--workdir over the cwd", params: { ...base, workdir: "/tmp/w d" }, want: `cd '/tmp/w d' || exit 1 ; exec "$SHELL" -l` },
    { name: "--workdir without mounts", params: { ...base, mounts: [], workdir: "/var/log" }, want: `cd /var/log || exit 1 ; exec "$SHELL" -l` },
    { name: "--shell", params: { ...base, mounts: [], shell: "/bin/zsh" }, want: `exec /bin/zsh -l` },
    { name: "--shell over user.shell", params: { ...base, mounts: [], shell: "/bin/zsh", userShell: "/bin/fish" }, want: `exec /bin/zsh -l` },
    { name: "user.shell", params: { ...base, mounts: [], userShell: "/usr/bin/my shell" }, want: `exec '/usr/bin/my shell' -l` },
    { name: "a one-word command", params: { ...base, mounts: [], command: ["uname"] }, want: `exec "$SHELL" -l -c uname` },
    { name: "a command with arguments", params: { ...base, mounts: [], command: ["uname", "-a"] }, want: `exec "$SHELL" -l -c 'uname -a'` },
    {
      name: "a command with quotes, spaces and $",
      params: { ...base, mounts: [], command: ["echo", "it's", "a b", "$HOME"] },
      want: `exec "$SHELL" -l -c 'echo '\\''it'\\''\\'\\'''\\''s'\\'' '\\''a b'\\'' '\\''$HOME'\\'''`,
    },
    { name: "an empty argument", params: { ...base, mounts: [], command: ["printf", ""] }, want: `exec "$SHELL" -l -c 'printf '\\'''\\'''` },
    { name: "leading assignments", params: { ...base, mounts: [], command: ["A=1", "B=x y", "make"] }, want: `exec "$SHELL" -l -c 'A=1 B='\\''x y'\\'' make'` },
    { name: "an assignment after the command word", params: { ...base, mounts: [], command: ["make", "A=x y"] }, want: `exec "$SHELL" -l -c 'make '\\''A=x y'\\'''` },
    { name: "an empty command as none", params: { ...base, mounts: [], command: [] }, want: `exec "$SHELL" -l` },
    { name: "env variables", params: { ...base, mounts: [], env: { LANG: "C.UTF-8", MSG: "it's $x" } }, want: `exec env LANG=C.UTF-8 'MSG=it'\\''s $x' "$SHELL" -l` },
  ])("shellScript() handles $name", ({ params, want }) => {
    expect(shellScript(params)).toBe(want);
  });

  test("shellScript() refuses an environment variable name the shell cannot set", () => {
    expect(() => shellScript({ ...base, env: { "A-B": "1" } })).toThrow(DenError);
  });
});

describe("guestPathOf()", () => {
  test.each([
    { name: "a path inside a mount", path: "/Users/me/a", want: "/Users/me/a" },
    { name: "a path with a trailing slash", path: "/Users/me/a/", want: "/Users/me/a" },
    { name: "a path outside", path: "/opt", want: undefined },
    { name: "a relative path", path: "a/b", want: undefined },
  ])("guestPathOf() maps $name", ({ path, want }) => {
    expect(guestPathOf(path, { mounts: homeMount, hostHome: home })).toBe(want);
  });
});

describe("shellSshArgs()", () => {
  const options = [
    ["User", "me"],
    ["LogLevel", "ERROR"],
  ] as const;
  test.each([
    {
      name: "an interactive session",
      params: { port: 60022, script: "exec bash -l", interactive: true },
      want: ["ssh", "-F", "/dev/null", "-o", "User=me", "-o", "LogLevel=ERROR", "-t", "-p", "60022", "127.0.0.1", "--", "exec bash -l"],
    },
    {
      name: "a command without a terminal",
      params: { port: 2222, script: "exec bash -l -c uname", interactive: false },
      want: ["ssh", "-F", "/dev/null", "-o", "User=me", "-o", "LogLevel=ERROR", "-p", "2222", "127.0.0.1", "--", "exec bash -l -c uname"],
    },
    {
      name: "COLORTERM and a custom $SSH",
      params: { port: 1, script: "s", interactive: true, colorterm: true, ssh: ["/usr/bin/ssh", "-v"] },
      want: ["/usr/bin/ssh", "-v", "-F", "/dev/null", "-o", "User=me", "-o", "LogLevel=ERROR", "-t", "-o", "SendEnv=COLORTERM", "-p", "1", "127.0.0.1", "--", "s"],
    },
  ])("shellSshArgs() builds $name", ({ params, want }) => {
    expect(shellSshArgs(options, params)).toEqual([...want]);
  });
});

// The generated script run by a real bash in a folder tree standing in for the guest: the mount point
// lives under a temp folder, and `bash` with a command stands in for the guest's login shell.
describe("shellScript() run by bash", () => {
  async function guest() {
    const root = await realpath(await makeTempDir("den-shell-"));
    const mountPoint = join(root, "mnt", "host home");
    const guestHome = join(root, "home", "me");
    const odd = join(mountPoint, "pro jects", "it's $x `y` ü");
    await mkdir(odd, { recursive: true });
    await mkdir(guestHome, { recursive: true });
    const mounts = [{ location: "/Users/me", mountPoint }];
    return { root, mountPoint, guestHome, odd, mounts };
  }

  function run(script: string, cwd: string, extraEnv: Record<string, string> = {}) {
    const result = Bun.spawnSync(["bash", "-c", script], {
      cwd,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd, ...extraEnv },
      stdin: "ignore",
    });
    return { stdout: result.stdout.toString(), stderr: result.stderr.toString(), exitCode: result.exitCode };
  }

  const pwd = { shell: "bash", command: ["pwd"] };

  type Guest = Awaited<ReturnType<typeof guest>>;

  test.each<{ name: string; hostCwd: string; workdir?: (g: Guest) => string; mounted: boolean; want: (g: Guest) => string }>([
    { name: "cds into the guest path of a host cwd with spaces, quotes, $ and unicode", hostCwd: "/Users/me/pro jects/it's $x `y` ü", mounted: true, want: (g) => g.odd },
    { name: "falls back to the mounted home when the cwd is missing in the guest", hostCwd: "/Users/me/not there", mounted: true, want: (g) => g.mountPoint },
    { name: "goes to the mounted home when the cwd is outside every mount", hostCwd: "/opt/elsewhere", mounted: true, want: (g) => g.mountPoint },
    { name: "stays in the guest home when nothing is mounted", hostCwd: "/Users/me/pro jects", mounted: false, want: (g) => g.guestHome },
    { name: "starts in --workdir", hostCwd: "/Users/me", workdir: (g) => g.odd, mounted: true, want: (g) => g.odd },
  ])("shellScript() $name", async ({ hostCwd, workdir, mounted, want }) => {
    const g = await guest();
    const script = shellScript({ ...pwd, hostCwd, hostHome: "/Users/me", mounts: mounted ? g.mounts : [], ...(workdir && { workdir: workdir(g) }) });
    const result = run(script, g.guestHome);
    expect(result.stdout).toBe(`${want(g)}\n`);
    expect(result.exitCode).toBe(0);
  });

  test("shellScript() exits 1 without running the command when --workdir is missing", async () => {
    const g = await guest();
    const script = shellScript({ shell: "bash", command: ["touch", "ran"], workdir: join(g.root, "nope"), hostCwd: "/x", hostHome: "/x", mounts: [] });
    const result = run(script, g.guestHome);
    expect(result.exitCode).toBe(1);
    expect(await Bun.file(join(g.guestHome, "ran")).exists()).toBe(false);
  });

  test("shellScript() passes every argument through unchanged", async () => {
    const g = await guest();
    const args = ["a b", "it's", "$HOME", "`id`", "ü 日本", "", "\\n", '"q"', "*", "x\ny"];
    const script = shellScript({ shell: "bash", command: ["printf", "<%s>", ...args], hostCwd: "/x", hostHome: "/x", mounts: [] });
    expect(run(script, g.guestHome).stdout).toBe(args.map((arg) => `<${arg}>`).join(""));
  });

  test("shellScript() sets env variables and leading assignments literally", async () => {
    const g = await guest();
    const script = shellScript({
      shell: "bash",
      env: { MSG: "it's $x `y`" },
      command: ["B=b c $z", "bash", "-c", 'printf "%s|%s" "$MSG" "$B"'],
      hostCwd: "/x",
      hostHome: "/x",
      mounts: [],
    });
    expect(run(script, g.guestHome).stdout).toBe("it's $x `y`|b c $z");
  });

  test("shellScript() passes the command's exit code back", async () => {
    const g = await guest();
    const script = shellScript({ shell: "bash", command: ["bash", "-c", "exit 7"], hostCwd: "/x", hostHome: "/x", mounts: [] });
    expect(run(script, g.guestHome).exitCode).toBe(7);
  });

  test("shellScript() uses the guest's $SHELL when no shell is named", async () => {
    const g = await guest();
    const script = shellScript({ command: ["pwd"], hostCwd: "/x", hostHome: "/x", mounts: [] });
    expect(run(script, g.guestHome, { SHELL: "/bin/sh" }).stdout).toBe(`${g.guestHome}\n`);
  });
});
