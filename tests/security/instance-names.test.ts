// Issue 12 #3: every command that takes an instance name refuses names that leave DEN_HOME's instance folders
// (`../../victim`, `..`, `.`, "", `_config`, `.hidden`, `a/b`, absolute paths, NUL) and instance folders that are
// symbolic links, with a clean error, and changes nothing outside (nor den's own folders inside) DEN_HOME.
// `den delete -f ../../victim` used to delete the folder; `protect` wrote into it; `delete -f _config` deleted the keys.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, readFile, readlink, realpath, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { buildProgram } from "../../lib/cli/program.ts";
import { DenError } from "../../lib/errors.ts";
import { listInstanceNames } from "../../lib/store/instance-names.ts";
import { type DenRun, runDen } from "../lib/cli/support/run-den.ts";
import { makeTempDir } from "../support/temp-dir.ts";

const MinimalYaml = "images:\n- location: /nonexistent/den-test.img\n";

let root: string;
let denHome: string;
let work: string;
let home: string;
let decoy: ReturnType<typeof Bun.spawn>;

/**
 * root/victim            a folder that looks like an instance, outside DEN_HOME (`../../victim` from DEN_HOME)
 * root/linked            the same, reached through DEN_HOME/link
 * root/d/keep            beside DEN_HOME (`..`)
 * root/d/home            DEN_HOME: _config (keys), _disks, .hidden, a/b, link → root/linked
 */
beforeAll(async () => {
  root = await realpath(await makeTempDir("den-sec-names-"));
  denHome = join(root, "d", "home");
  work = join(root, "work");
  decoy = Bun.spawn(["sleep", "60"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  const lookalike = async (dir: string): Promise<void> => {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "den.yaml"), MinimalYaml);
    await writeFile(join(dir, "secret.txt"), "do not touch\n");
    await writeFile(join(dir, "qemu.pid"), `${decoy.pid}\n`);
    await writeFile(join(dir, "ha.pid"), `${decoy.pid}\n`);
    await writeFile(join(dir, "x.sock"), "");
  };
  await lookalike(join(root, "victim"));
  await lookalike(join(root, "linked"));
  await lookalike(join(denHome, "_config"));
  await writeFile(join(denHome, "_config", "user"), "-----BEGIN OPENSSH PRIVATE KEY-----\ndecoy\n");
  await writeFile(join(denHome, "_config", "user.pub"), "ssh-ed25519 AAAA decoy\n");
  await lookalike(join(denHome, ".hidden"));
  await lookalike(join(denHome, "_disks", "d1"));
  await lookalike(join(denHome, "a", "b"));
  await writeFile(join(root, "d", "keep"), "beside DEN_HOME\n");
  await symlink(join(root, "linked"), join(denHome, "link"));
  await mkdir(work);
  // HOME outside the compared tree: Bun keeps a cache there.
  home = await makeTempDir("den-sec-home-");
});

afterAll(async () => {
  decoy.kill("SIGKILL");
  await decoy.exited;
});

/** Every path under `dir` with its type, mode and content (files) or target (links), in a stable order. */
async function treeHash(dir: string): Promise<string> {
  const lines: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const info = await lstat(path);
    const rel = path.slice(root.length);
    if (info.isSymbolicLink()) lines.push(`${rel} link ${await readlink(path)}`);
    else if (info.isDirectory()) {
      lines.push(`${rel} dir ${info.mode.toString(8)}`);
      for (const entry of (await readdir(path)).sort()) await walk(join(path, entry));
    } else lines.push(`${rel} file ${info.mode.toString(8)} ${createHash("sha256").update(await readFile(path)).digest("hex")}`);
  };
  await walk(dir);
  return lines.join("\n");
}

type Run = DenRun & { args: string[] };

async function runOne(args: string[]): Promise<Run> {
  return { args, ...(await runDen(args, { denHome, cwd: work, env: { HOME: home }, killAfterMs: 30_000 })) };
}

/** Runs all in small batches: den processes are slow to start on a loaded machine. */
async function runAll(list: string[][], batch = 4): Promise<Run[]> {
  const runs: Run[] = [];
  for (let i = 0; i < list.length; i += batch) runs.push(...(await Promise.all(list.slice(i, i + batch).map(runOne))));
  return runs;
}

/** Runs den's command tree in this process (what main.ts does, minus rendering); the error it throws, if any. */
async function runInProcess(args: string[]): Promise<unknown> {
  const saved = process.env.DEN_HOME;
  process.env.DEN_HOME = denHome;
  try {
    return await buildProgram()
      .exitOverride()
      .parseAsync(["bun", "den", ...args])
      .then(() => undefined, (error: unknown) => error);
  } finally {
    process.env.DEN_HOME = saved;
  }
}

// NAME is replaced by each hostile name. `den start X` with X not spelled like a name reads X as a template path (by
// design), so `start` is covered through --name, and through a name that looks like one (`link`).
const Commands: string[][] = [
  ["delete", "NAME"],
  ["delete", "-f", "NAME"],
  ["stop", "NAME"],
  ["stop", "-f", "NAME"],
  ["restart", "NAME"],
  ["restart", "-f", "NAME"],
  ["start", "--name", "NAME"],
  ["start", "--name", "NAME", "--cpus", "1"],
  ["shell", "NAME"],
  ["shell", "NAME", "true"],
  ["docker", "--instance", "NAME", "ps"],
  ["kubectl", "--instance=NAME", "get", "pods"],
  ["pause", "NAME"],
  ["resume", "NAME"],
  ["protect", "NAME"],
  ["unprotect", "NAME"],
  ["ports", "NAME"],
  ["list", "NAME"],
  ["hostagent", "NAME"],
  ["copy", "NAME:/etc/hostname", "./out"],
];

// "/abs" stands for an absolute path outside DEN_HOME; NUL cannot travel in argv, so it is tried in-process only.
const InvalidNames = ["../../victim", "..", ".", "", "_config", ".hidden", "a/b", "/abs", "_disks", "../home/_config", "a\0b"];

// A copy operand with "/" before its first ":" is a host path, as scp reads it: the name check never sees it.
const isHostPathForCopy = (name: string): boolean => name === "" || name.includes("/");

function invocation(command: string[], name: string): string[] {
  return command.map((word) => word.replace("NAME", name === "/abs" ? join(root, "victim") : name));
}

const Matrix = InvalidNames.flatMap((name) =>
  Commands.filter((command) => !(command[0] === "copy" && isHostPathForCopy(name))).map((command) => ({
    label: JSON.stringify(command.join(" ").replace("NAME", name === "/abs" ? "/ROOT/victim" : name)),
    name,
    command,
  })),
);

describe("every instance command", () => {
  test.each(Matrix)("den $label is refused with INSTANCE_NAME_INVALID and changes nothing", async ({ name, command }) => {
    const before = await treeHash(root);
    const error = await runInProcess(invocation(command, name));
    expect(error).toBeInstanceOf(DenError);
    expect((error as DenError).code).toBe("INSTANCE_NAME_INVALID");
    expect((error as DenError).message).toStartWith("Invalid instance name ");
    expect(await treeHash(root)).toBe(before);
    expect(decoy.exitCode).toBeNull();
  });

  test.each(Commands.map((command) => ({ label: command.join(" ").replace("NAME", "link"), command })))("den $label refuses an instance folder that is a symbolic link out of DEN_HOME", async ({ command }) => {
    const before = await treeHash(root);
    const error = await runInProcess(invocation(command, "link"));
    if (command[0] === "list") {
      // `den list link` finds no such instance: the list skips links, as it skips den's own folders.
      expect(error).toBeInstanceOf(DenError);
      expect((error as DenError).code).toBe("INSTANCE_NOT_FOUND");
      expect((error as DenError).message).toBe('Cannot find instance "link"');
    } else {
      expect(error).toBeInstanceOf(DenError);
      expect((error as DenError).code).toBe("INSTANCE_NOT_FOUND");
      expect((error as DenError).message).toContain("is a symbolic link, not an instance folder");
    }
    expect(await treeHash(root)).toBe(before);
    expect(decoy.exitCode).toBeNull();
  });

  test("den start LINK (a name, so not a template path) refuses the link", async () => {
    const before = await treeHash(root);
    const error = await runInProcess(["start", "link", "--cpus", "1"]);
    expect((error as DenError).code).toBe("INSTANCE_NOT_FOUND");
    expect(await treeHash(root)).toBe(before);
  });

  // The real binary: main.ts renders the error, and `den hostagent` (which writes ha.pid first thing) runs detached.
  test("the CLI prints a clean error for hostile names and changes nothing", async () => {
    const before = await treeHash(root);
    const list = [
      ...InvalidNames.filter((name) => !name.includes("\0")).map((name) => invocation(["hostagent", "NAME"], name)),
      ["delete", "-f", "../../victim"],
      ["delete", "-f", "_config"],
      ["delete", "-f", ""],
      ["stop", "-f", "."],
      ["protect", ".."],
      ["delete", "-f", "link"],
    ];
    const runs = await runAll(list);
    const unclean = runs.filter(
      (run) => run.exitCode !== 1 || !/^error: (Invalid instance name "|Cannot .*instance "link")/m.test(run.stderr) || run.stderr.includes("bug in den"),
    );
    expect(unclean.map((run) => `${JSON.stringify(run.args)} → ${run.exitCode}: ${run.stderr.trim()}`)).toEqual([]);
    expect(await treeHash(root)).toBe(before);
    expect(decoy.exitCode).toBeNull();
  }, 120_000);

  test("den list shows neither den's folders nor links nor folders it could not have created", async () => {
    // `a` (holding a/b) is the only entry spelled like an instance name.
    expect(await listInstanceNames(denHome)).toEqual(["a"]);
  });
});
