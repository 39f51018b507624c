// Issue 12 #6, template and configuration input: endless stdin, devices, FIFOs, huge files and stalled servers
// must each end in a clean error within seconds, with bounded memory, never a hang or a crash banner.
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DenRun, runDen, type RunDenOptions } from "../lib/cli/support/run-den.ts";
import { stalledAnswers } from "../support/stalled-answers.ts";

/** Far below what the unbounded reads reached (GBs), far above what den needs. */
const maxRssBytes = 400 * 1024 * 1024;

/** Any run slower than this counts as a hang; the child is killed then. */
const hangMs = 15_000;

/** Each test's own limit, above hangMs so a hang is reported as one rather than as a test timeout. */
const testMs = 25_000;

const scratchDirs: string[] = [];

async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "den-bounded-"));
  scratchDirs.push(dir);
  return dir;
}

const makeDenHome = scratchDir;

function den(args: readonly string[], options: Omit<RunDenOptions, "killAfterMs">): Promise<DenRun> {
  return runDen(args, { ...options, killAfterMs: hangMs });
}

/** A clean failure: exit 1, den's own `error:`/`hint:` lines, no crash banner or "bug in den", no hang. */
function expectCleanError(run: DenRun, message: string): void {
  expect(run.killed).toBe(false);
  expect(run.exitCode).toBe(1);
  expect(run.stderr).toStartWith(`error: ${message}`);
  expect(run.stderr).toContain("\nhint: ");
  expect(run.stderr).not.toContain("bug in den");
  expect(run.stderr).not.toMatch(/panic|crashed|oh no|Segmentation fault|heap/i);
  expect(run.maxRss).toBeLessThan(maxRssBytes);
}

function mkfifo(path: string): void {
  expect(spawnSync("mkfifo", [path]).status).toBe(0);
}

const servers: ReturnType<typeof Bun.serve>[] = [];
afterAll(async () => {
  for (const server of servers) server.stop(true);
  // The 5 GiB files are sparse, but need not stay around.
  await Promise.all(scratchDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

test("yes | den create - stops at 4 MiB with a clean error", async () => {
  const denHome = await makeDenHome();
  const yes = Bun.spawn(["yes"], { stdout: "pipe", stderr: "ignore" });
  try {
    const run = await den(["create", "-", "--name", "piped"], { denHome, stdin: yes.stdout });
    expectCleanError(run, 'Cannot read template "-" (stdin): it is larger than 4 MiB');
    expect(run.ms).toBeLessThan(10_000);
    expect(existsSync(join(denHome, "piped"))).toBe(false);
  } finally {
    yes.kill();
  }
}, testMs);

interface PathRow {
  name: string;
  /** Makes the path in a scratch folder. */
  make: (dir: string) => Promise<string>;
  message: (path: string) => string;
}

const pathRows: PathRow[] = [
  { name: "/dev/zero", make: async () => "/dev/zero", message: (path) => `Cannot read template "${path}": it is a device, not a regular file` },
  {
    name: "a FIFO",
    make: async (dir) => {
      mkfifo(join(dir, "t.yaml"));
      return join(dir, "t.yaml");
    },
    message: (path) => `Cannot read template "${path}": it is a named pipe, not a regular file`,
  },
  {
    name: "a sparse 5 GiB file",
    make: async (dir) => {
      const path = join(dir, "huge.yaml");
      await writeFile(path, "");
      await truncate(path, 5 * 1024 ** 3);
      return path;
    },
    message: (path) => `Cannot read template "${path}": it is larger than 4 MiB`,
  },
  {
    name: "a local template whose provision file is a FIFO",
    make: async (dir) => {
      mkfifo(join(dir, "data"));
      await writeFile(join(dir, "t.yaml"), "base: template:_images/debian-13\nprovision:\n- mode: data\n  path: /etc/x\n  file: data\n");
      return join(dir, "t.yaml");
    },
    message: (path) => `Cannot read template "${join(path, "..", "data")}": it is a named pipe, not a regular file`,
  },
];

test.each(pathRows)("den create refuses $name quickly, unread", async ({ make, message }) => {
  const denHome = await makeDenHome();
  const scratch = await scratchDir();
  const path = await make(scratch);
  const run = await den(["create", path, "--name", "vm"], { denHome });
  expectCleanError(run, message(path));
  expect(run.ms).toBeLessThan(10_000);
  expect(existsSync(join(denHome, "vm"))).toBe(false);
}, testMs);

interface ListRow {
  name: string;
  /** Replaces a file of a created instance `vm` or of DEN_HOME. */
  spoil: (denHome: string) => Promise<string>;
  error: (path: string) => string;
}

const listRows: ListRow[] = [
  {
    name: "a FIFO den.yaml",
    spoil: async (denHome) => {
      const path = join(denHome, "vm", "den.yaml");
      await rm(path);
      mkfifo(path);
      return path;
    },
    error: (path) => `Cannot read configuration "${path}": it is a named pipe, not a regular file`,
  },
  {
    name: "a 5 GiB den.yaml",
    spoil: async (denHome) => {
      const path = join(denHome, "vm", "den.yaml");
      await truncate(path, 5 * 1024 ** 3);
      return path;
    },
    error: (path) => `Cannot read configuration "${path}": it is larger than 4 MiB`,
  },
  {
    name: "a FIFO _config/default.yaml",
    spoil: async (denHome) => {
      const path = join(denHome, "_config", "default.yaml");
      await mkdir(join(denHome, "_config"), { recursive: true });
      mkfifo(path);
      return path;
    },
    error: (path) => `Cannot read configuration "${path}": it is a named pipe, not a regular file`,
  },
];

test.each(listRows)("den list shows the instance as Broken with $name, without hanging", async ({ spoil, error }) => {
  const denHome = await makeDenHome();
  expect((await den(["create", "template:debian", "--name", "vm"], { denHome })).exitCode).toBe(0);
  const path = await spoil(denHome);
  const run = await den(["list", "--json"], { denHome });
  expect(run.killed).toBe(false);
  expect(run.exitCode).toBe(0);
  expect(run.maxRss).toBeLessThan(maxRssBytes);
  const info = JSON.parse(run.stdout) as { name: string; status: string; errors?: string[] };
  expect(info).toMatchObject({ name: "vm", status: "Broken", errors: [error(path)] });
}, testMs);

test.each(stalledAnswers)("den create gives up on a server that $name after DEN_FETCH_TIMEOUT", async ({ answer }) => {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, idleTimeout: 0, fetch: answer });
  servers.push(server);
  const url = `http://127.0.0.1:${server.port}/t.yaml`;
  const denHome = await makeDenHome();
  const run = await den(["create", url], { denHome, env: { DEN_FETCH_TIMEOUT: "1s" } });
  expectCleanError(run, `Cannot fetch template "${url}": no complete answer within 1 s`);
  expect(run.ms).toBeLessThan(8_000);
  expect(existsSync(join(denHome, "t"))).toBe(false);
}, testMs);

test("den create reports a DEN_FETCH_TIMEOUT that is not a duration", async () => {
  const denHome = await makeDenHome();
  const run = await den(["create", "http://127.0.0.1:9/t.yaml"], { denHome, env: { DEN_FETCH_TIMEOUT: "soon" } });
  expectCleanError(run, 'Cannot parse DEN_FETCH_TIMEOUT "soon": not a duration');
}, testMs);
