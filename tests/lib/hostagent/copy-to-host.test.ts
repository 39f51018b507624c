import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { lstat, mkdir, readFile, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { copyTargetProblem, copyToHost, guestReadCommand, removeCopiedFiles } from "../../../lib/hostagent/copy-to-host.ts";
import { run } from "../../../lib/process/run.ts";
import type { ExecResult } from "../../../lib/ssh/ssh-session.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

/** Runs the guest command on this host, as the SSH session would in the guest. */
async function localExec(command: string): Promise<ExecResult> {
  const result = await run(["sh", "-c", command], { maxStdoutBytes: 64 * 1024 * 1024 });
  return { stdout: result.stdout, stderr: result.stderrTail, exitCode: result.code };
}

async function folders() {
  const root = await makeTempDir("den-copy-");
  const instanceDir = join(root, "vm");
  const guest = join(root, "guest");
  await mkdir(instanceDir);
  await mkdir(guest);
  return { instanceDir, guest };
}

const rule = (guest: string, host: string, extra: { skipIfMissing?: boolean; deleteOnStop?: boolean } = {}) => ({ guest, host, skipIfMissing: false, deleteOnStop: false, ...extra });

test.each([
  { name: "a file in copied-from-guest", host: "/d/vm/copied-from-guest/kubeconfig.yaml", problem: undefined },
  { name: "a file in a subfolder of it", host: "/d/vm/copied-from-guest/k3s/config", problem: undefined },
  { name: "the folder itself", host: "/d/vm/copied-from-guest", problem: 'den writes guest files only inside "/d/vm/copied-from-guest"' },
  { name: "the instance's den.yaml", host: "/d/vm/den.yaml", problem: 'den writes guest files only inside "/d/vm/copied-from-guest"' },
  { name: "a way out with ..", host: "/d/vm/copied-from-guest/../ssh.config", problem: 'den writes guest files only inside "/d/vm/copied-from-guest"' },
  { name: "the user's shell profile", host: "/home/u/.bashrc", problem: 'den writes guest files only inside "/d/vm/copied-from-guest"' },
  { name: "a relative path", host: "copied-from-guest/x", problem: "it is not an absolute path" },
])("copyTargetProblem() judges $name", ({ host, problem }) => {
  expect(copyTargetProblem(host, "/d/vm")).toBe(problem);
});

test("guestReadCommand() reads through sudo only when asked, with C locale messages", () => {
  expect(guestReadCommand("/etc/rancher/k3s/k3s.yaml", { sudo: false, maxBytes: 100 })).toBe(
    `env LANG=C LC_ALL=C sh -c 'head -c 1 -- "$1" >/dev/null && head -c 101 -- "$1" | base64' sh /etc/rancher/k3s/k3s.yaml`,
  );
  expect(guestReadCommand("/a b", { sudo: true, maxBytes: 100 })).toStartWith("sudo -n env LANG=C LC_ALL=C sh -c ");
});

test("copyToHost() copies a file byte for byte into copied-from-guest, private, making the folders", async () => {
  const { instanceDir, guest } = await folders();
  const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13, 0xc3, 0x28]);
  await writeFile(join(guest, "kubeconfig.yaml"), bytes);
  const host = join(instanceDir, "copied-from-guest", "k3s", "kubeconfig.yaml");
  const result = await copyToHost([rule(join(guest, "kubeconfig.yaml"), host)], { instanceDir, exec: localExec });
  expect(result).toEqual({ copied: [host], skipped: [], errors: [] });
  expect(await readFile(host)).toEqual(bytes);
  expect((await lstat(host)).mode & 0o777).toBe(0o600);
  expect((await lstat(join(instanceDir, "copied-from-guest", "k3s"))).mode & 0o777).toBe(0o700);
});

test("copyToHost() replaces a symlink at the target instead of writing through it", async () => {
  const { instanceDir, guest } = await folders();
  await writeFile(join(guest, "f"), "new");
  const victim = join(guest, "victim");
  await writeFile(victim, "keep");
  await mkdir(join(instanceDir, "copied-from-guest"));
  const host = join(instanceDir, "copied-from-guest", "f");
  await symlink(victim, host);
  expect((await copyToHost([rule(join(guest, "f"), host)], { instanceDir, exec: localExec })).errors).toEqual([]);
  expect(await readFile(victim, "utf8")).toBe("keep");
  expect((await lstat(host)).isSymbolicLink()).toBe(false);
  expect(await readFile(host, "utf8")).toBe("new");
});

test("copyToHost() refuses a symlinked folder on the way", async () => {
  const { instanceDir, guest } = await folders();
  await writeFile(join(guest, "f"), "x");
  await symlink(guest, join(instanceDir, "copied-from-guest"));
  const result = await copyToHost([rule(join(guest, "f"), join(instanceDir, "copied-from-guest", "g"))], { instanceDir, exec: localExec });
  expect(result.errors).toEqual([`Cannot copy "${join(guest, "f")}" from the guest to "${join(instanceDir, "copied-from-guest", "g")}": "${join(instanceDir, "copied-from-guest")}" is not a folder (a symlink is not followed)`]);
  expect(await readlink(join(instanceDir, "copied-from-guest"))).toBe(guest);
  expect(existsSync(join(guest, "g"))).toBe(false);
});

test.each([
  { name: "skips a missing file it may skip", skipIfMissing: true, result: { copied: [], skipped: ["MISSING"], errors: [] } },
  {
    name: "reports a missing file it may not skip",
    skipIfMissing: false,
    result: { copied: [], skipped: [], errors: ['Cannot copy "MISSING" from the guest: no such file (set skipIfMissing: true if it is optional)'] },
  },
])("copyToHost() $name", async ({ skipIfMissing, result }) => {
  const { instanceDir, guest } = await folders();
  const missing = join(guest, "nope");
  const outcome = await copyToHost([rule(missing, join(instanceDir, "copied-from-guest", "x"), { skipIfMissing })], { instanceDir, exec: localExec });
  expect(outcome).toEqual(JSON.parse(JSON.stringify(result).replaceAll("MISSING", missing)));
});

test("copyToHost() refuses a target outside copied-from-guest without reading the guest", async () => {
  const { instanceDir } = await folders();
  const commands: string[] = [];
  const exec = async (command: string): Promise<ExecResult> => (commands.push(command), { stdout: "", stderr: "", exitCode: 0 });
  const result = await copyToHost([rule("/etc/passwd", join(instanceDir, "den.yaml"))], { instanceDir, exec });
  expect(result.errors).toEqual([`Cannot copy "/etc/passwd" from the guest to "${join(instanceDir, "den.yaml")}": den writes guest files only inside "${join(instanceDir, "copied-from-guest")}" (copyToHost)`]);
  expect(commands).toEqual([]);
});

test("copyToHost() retries with sudo when the guest user may not read the file", async () => {
  const { instanceDir } = await folders();
  const commands: string[] = [];
  const exec = async (command: string): Promise<ExecResult> => {
    commands.push(command);
    return command.startsWith("sudo -n ")
      ? { stdout: `${Buffer.from("secret").toString("base64")}\n`, stderr: "", exitCode: 0 }
      : { stdout: "", stderr: "head: cannot open '/etc/k3s.yaml' for reading: Permission denied\n", exitCode: 1 };
  };
  const host = join(instanceDir, "copied-from-guest", "k3s.yaml");
  expect((await copyToHost([rule("/etc/k3s.yaml", host)], { instanceDir, exec })).copied).toEqual([host]);
  expect(commands.map((command) => command.startsWith("sudo -n "))).toEqual([false, true]);
  expect(await readFile(host, "utf8")).toBe("secret");
});

test("copyToHost() refuses a file over the size limit", async () => {
  const { instanceDir, guest } = await folders();
  await writeFile(join(guest, "big"), "x".repeat(2000));
  const result = await copyToHost([rule(join(guest, "big"), join(instanceDir, "copied-from-guest", "big"))], { instanceDir, exec: localExec, maxBytes: 1000 });
  expect(result.errors).toEqual([`Cannot copy "${join(guest, "big")}" from the guest to "${join(instanceDir, "copied-from-guest", "big")}": it is larger than 1000 bytes`]);
  expect(existsSync(join(instanceDir, "copied-from-guest", "big"))).toBe(false);
});

test("copyToHost() goes on with the next rule after a failing one", async () => {
  const { instanceDir, guest } = await folders();
  await writeFile(join(guest, "ok"), "fine");
  const unreadable = join(guest, "dir");
  await mkdir(unreadable);
  const result = await copyToHost(
    [rule(unreadable, join(instanceDir, "copied-from-guest", "a")), rule(join(guest, "ok"), join(instanceDir, "copied-from-guest", "b"))],
    { instanceDir, exec: localExec },
  );
  expect(result.copied).toEqual([join(instanceDir, "copied-from-guest", "b")]);
  expect(result.errors).toHaveLength(1);
  expect(result.errors[0]).toStartWith(`Cannot copy "${unreadable}" from the guest to "${join(instanceDir, "copied-from-guest", "a")}": reading it failed (exit code 1): `);
});

test("removeCopiedFiles() removes only the deleteOnStop files inside copied-from-guest", async () => {
  const { instanceDir, guest } = await folders();
  await mkdir(join(instanceDir, "copied-from-guest"));
  const gone = join(instanceDir, "copied-from-guest", "gone");
  const kept = join(instanceDir, "copied-from-guest", "kept");
  const outside = join(guest, "outside");
  for (const path of [gone, kept, outside]) await writeFile(path, "x");
  await removeCopiedFiles([rule("/a", gone, { deleteOnStop: true }), rule("/b", kept), rule("/c", outside, { deleteOnStop: true })], instanceDir);
  expect([existsSync(gone), existsSync(kept), existsSync(outside)]).toEqual([false, true, true]);
});
