// Issue 12 #7: an error names the path and what to do instead of "this looks like a bug in den"; it quotes at
// most a short escaped excerpt of the input (never /etc/shadow's hashes or a binary file whole); and no
// `(node:…) Warning` from the YAML library reaches the terminal.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { chmod, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DenError, renderError, toDenError } from "../../lib/errors.ts";
import { type DenRun, makeDenHome, runDen } from "../lib/cli/support/run-den.ts";
import { caughtError } from "../support/caught-den-error.ts";

const Image = 'images: [{location: "https://example.com/x.img", arch: x86_64}]\n';

/** den run as an unprivileged user (nobody when the tests run as root), so that permissions apply. */
function runDenUnprivileged(args: readonly string[], denHome: string): Promise<DenRun> {
  const asNobody = process.getuid?.() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
  return runDen(args, {
    denHome,
    cwd: "/",
    prefix: asNobody,
    // "0" keeps Bun from leaving a transpiler cache owned by nobody under /tmp.
    env: { HOME: "/tmp", XDG_CACHE_HOME: "/tmp", BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" },
  });
}

function expectCleanIoError(run: DenRun, message: string, hint: string): void {
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toContain(`error: ${message}`);
  expect(run.stderr).toMatch(/\nhint: /);
  expect(run.stderr).toContain(hint);
  expect(run.stderr).not.toContain("bug in den");
}

describe("system errors", () => {
  test("DEN_HOME that is a file: den list names it and suggests DEN_HOME", async () => {
    const home = await makeDenHome();
    const file = join(home, "a-file");
    await writeFile(file, "x");
    const run = await runDen(["list"], { denHome: file, cwd: home });
    expectCleanIoError(run, `Cannot list the folder "${file}": a part of the path is not a folder (ENOTDIR)`, "is DEN_HOME set to a file?");
  });

  test("DEN_HOME below a file: den create names the path", async () => {
    const home = await makeDenHome();
    await writeFile(join(home, "a-file"), "x");
    await writeFile(join(home, "t.yaml"), Image);
    const run = await runDen(["create", "--name", "vm", join(home, "t.yaml")], { denHome: join(home, "a-file", "den"), cwd: home });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^error: Cannot [a-z ]+ ".*a-file\/den[^"]*": a part of the path is not a folder \(ENOTDIR\)$/m);
    expect(run.stderr).not.toContain("bug in den");
  });

  test("DEN_HOME in a folder the user may not enter: den list and den create say permission denied", async () => {
    const home = await makeDenHome();
    const locked = join(home, "locked");
    await mkdir(join(locked, "den"), { recursive: true });
    await chmod(home, 0o755);
    await chmod(locked, 0o700);
    if (process.getuid?.() !== 0) await chmod(locked, 0o000);
    const template = join(home, "t.yaml");
    await writeFile(template, Image);
    await chmod(template, 0o644);
    const list = await runDenUnprivileged(["list"], join(locked, "den"));
    expectCleanIoError(list, `Cannot list the folder "${join(locked, "den")}": permission denied (EACCES)`, `check the owner and permissions of "${join(locked, "den")}"`);
    const create = await runDenUnprivileged(["create", "--name", "vm", template], join(locked, "den"));
    expect(create.exitCode).toBe(1);
    expect(create.stderr).toMatch(/^error: Cannot [a-z ]+ ".*locked\/den[^"]*": permission denied \(EACCES\)$/m);
    expect(create.stderr).toContain("DEN_HOME must be a folder you can write");
    await chmod(locked, 0o700);
  });

  test("DEN_HOME that is a symbolic link loop: den list says so", async () => {
    const home = await makeDenHome();
    const loop = join(home, "loop");
    await symlink(loop, loop);
    const run = await runDen(["list"], { denHome: loop, cwd: home });
    expectCleanIoError(run, `Cannot list the folder "${loop}": too many levels of symbolic links (ELOOP)`, `look for a symbolic link at or above "${loop}"`);
  });

  test("a full disk (ENOSPC from /dev/full) is rendered with the path and a hint to free space", () => {
    const caught = caughtError(() => writeFileSync("/dev/full", "x"), Error);
    // Node's error for a failed write carries no path.
    expect(renderError(caught)).toBe(
      "error: Cannot write: no space left on the device (ENOSPC)\nhint: free space on the file system that holds the path (df shows it)",
    );
  });

  test.each([
    { code: "EROFS", syscall: "mkdir", message: 'Cannot create the folder "/ro/den": the file system is read-only (EROFS)', hint: '"/ro/den" is on a read-only file system; use a writable one; set DEN_HOME to a folder on a writable file system' },
    { code: "EDQUOT", syscall: "write", message: 'Cannot write to "/ro/den": the disk quota is exceeded (EDQUOT)', hint: "free space within your quota" },
    { code: "EMFILE", syscall: "open", message: 'Cannot open "/ro/den": den has too many open files (EMFILE)', hint: "ulimit -n" },
    { code: "EWHATEVER", syscall: "frobnicate", message: 'Cannot frobnicate "/ro/den": something (EWHATEVER)', hint: "check the path and try again" },
  ])("toDenError() turns $code into DenError(IO) with a hint", ({ code, syscall, message, hint }) => {
    const error = Object.assign(new Error(`${code}: something, ${syscall} '/ro/den'`), { code, syscall, path: "/ro/den" });
    const converted = toDenError(error, { denHome: "/ro/den" });
    expect(converted).toBeInstanceOf(DenError);
    expect((converted as DenError).code).toBe("IO");
    expect((converted as DenError).message).toBe(message);
    expect((converted as DenError).hint).toContain(hint);
  });

  test("toDenError() speaks of DEN_HOME only when the path is DEN_HOME, inside it or above it", () => {
    const error = (path: string) => Object.assign(new Error("EACCES: permission denied, open"), { code: "EACCES", syscall: "open", path });
    const hint = (path: string) => (toDenError(error(path), { denHome: "/home/u/.den" }) as DenError).hint;
    expect(hint("/home/u/.den/vm/den.yaml")).toContain("DEN_HOME must be a folder you can write");
    expect(hint("/home/u")).toContain("DEN_HOME must be a folder you can write");
    expect(hint("/home/u/.denx/a")).not.toContain("DEN_HOME");
    expect(hint("/etc/hosts")).not.toContain("DEN_HOME");
  });

  test("toDenError() leaves errors that are not system errors alone", () => {
    const plain = new Error("boom");
    expect(toDenError(plain)).toBe(plain);
    expect(toDenError(Object.assign(new Error("x"), { code: "ERR_INVALID_ARG_TYPE" }))).not.toBeInstanceOf(DenError);
  });
});

/** Characters of `output` copied from `input`: every run of at least 6 characters that occurs in the input counts. */
function echoedChars(input: string, output: string): number {
  let echoed = 0;
  let j = 0;
  while (j < output.length) {
    let length = 0;
    while (j + length < output.length && input.includes(output.slice(j, j + length + 1))) length++;
    if (length >= 6) {
      echoed += length;
      j += length;
    } else j++;
  }
  return echoed;
}

/** Deterministic bytes (xorshift), so a failure can be reproduced. */
function pseudoRandomBytes(seed: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

const ShadowLines = Array.from({ length: 25 }, (_, i) => `user${i}:$6$saltsalt${i}$${"Ab0/".repeat(21)}x${i}:19700:0:99999:7:::`);

/** Control bytes other than line feed, and ESC sequences, must not reach the terminal. */
const RawControl = /[\x00-\x09\x0b-\x1f\x7f\x80-\x9f]/;

describe("echo of the input", () => {
  test.each([
    { name: "a template with one shadow line", text: `${Image}${ShadowLines[0]}\n` },
    { name: "a shadow line as a value", text: `${Image}message: [${ShadowLines[1]}]\ncpus: "${ShadowLines[2]}"\n` },
    { name: "a long line of escape sequences", text: `${"\u001b[2J\u001b[31mred".repeat(2000)}\n` },
    { name: "a control character in a key", text: `${Image}"bad\\u001b[31mkey${"k".repeat(500)}": 1\n` },
    { name: "a long tag", text: `${Image}cpus: !${"t".repeat(5000)} x\n` },
  ])("den create of $name echoes at most 200 bytes and no control bytes", async ({ text }) => {
    const denHome = await makeDenHome();
    const file = join(denHome, "input.yaml");
    await writeFile(file, text);
    const run = await runDen(["create", "--name", "vm", file], { denHome });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toStartWith("error: ");
    expect(echoedChars(text, run.stderr.replaceAll(file, ""))).toBeLessThanOrEqual(200);
    expect(run.stderr).not.toMatch(RawControl);
  });

  test("den create /etc/shadow-like file quotes none of it", async () => {
    const denHome = await makeDenHome();
    const file = join(denHome, "shadow");
    await writeFile(file, `${ShadowLines.join("\n")}\n`);
    const run = await runDen(["create", "--name", "vm", file], { denHome });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      `error: ${file}:1:1: Not a Lima or den configuration: none of its 25 top-level keys is known\nhint: check the file name; a template has keys such as images:, cpus: and mounts:\n`,
    );
  });

  test.each([1, 2, 3, 4, 5])("den create of binary file %d echoes at most 200 bytes and no control bytes", async (seed) => {
    const denHome = await makeDenHome();
    const file = join(denHome, "input.bin");
    const bytes = pseudoRandomBytes(seed * 7919, 64 * 1024);
    await writeFile(file, bytes);
    const run = await runDen(["create", "--name", "vm", file], { denHome });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).not.toContain("bug in den");
    expect(echoedChars(new TextDecoder().decode(bytes), run.stderr.replaceAll(file, ""))).toBeLessThanOrEqual(200);
    expect(run.stderr).not.toMatch(RawControl);
  });

  test("den create --set quotes a long expression as an excerpt", async () => {
    const denHome = await makeDenHome();
    await writeFile(join(denHome, "t.yaml"), Image);
    const secret = `.message = "${"s".repeat(5000)}\u001b[2J" | bogus`;
    const run = await runDen(["create", "--name", "vm", "--set", secret, join(denHome, "t.yaml")], { denHome });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('operator "bogus" is not supported');
    expect(run.stderr.length).toBeLessThan(600);
    expect(run.stderr).not.toMatch(RawControl);
  });

  // What excerpt() itself escapes and how it shortens: its table in tests/lib/errors.test.ts.
});

describe("YAML library warnings", () => {
  test.each([
    { name: "a list as a map key", text: `${Image}? [a, b]\n: 1\n` },
    { name: "a map as a map key inside env", text: `${Image}env: {? {x: 1}: 1}\n` },
    { name: "an unresolved tag", text: `${Image}message: !foo hi\n` },
    { name: "a %YAML 1.1 directive", text: `%YAML 1.1\n---\n${Image}` },
    { name: "a !!binary value", text: `${Image}message: !!binary aGVsbG8=\n` },
    { name: "a merge key", text: `${Image}x: &b {cpus: 2}\n<<: *b\n` },
    { name: "duplicate keys", text: `${Image}cpus: 2\ncpus: 3\n` },
  ])("den create and den validate of $name print no (node:…) warning", async ({ text }) => {
    const denHome = await makeDenHome();
    const file = join(denHome, "t.yaml");
    await writeFile(file, text);
    for (const args of [["validate", file], ["create", "--name", "vm", file]]) {
      const run = await runDen(args, { denHome });
      expect(run.stderr).not.toContain("(node:");
      expect(run.stderr).not.toContain("Warning:");
      expect(run.stderr).not.toContain("bug in den");
    }
  });
});
