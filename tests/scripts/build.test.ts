// The single binary: scripts/build.ts compiles den for this host, and the result runs without the sources.
import { expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "../..");
const target = `${process.platform}-${process.arch}`;

test(
  "scripts/build.ts makes a binary that runs from any folder with templates built in",
  async () => {
    const build = Bun.spawnSync([process.execPath, join(root, "scripts/build.ts"), "--target", target], { stdout: "pipe", stderr: "pipe" });
    expect({ exitCode: build.exitCode, stderr: build.stderr.toString() }).toEqual({ exitCode: 0, stderr: "" });
    const binary = join(root, "dist", `den-${target}`);
    const home = await mkdtemp(join(tmpdir(), "den-build-test-"));
    try {
      const run = (args: string[]) => {
        const child = Bun.spawnSync([binary, ...args], { cwd: "/", env: { ...process.env, DEN_HOME: home }, stdout: "pipe", stderr: "pipe" });
        return { exitCode: child.exitCode, stdout: child.stdout.toString(), stderr: child.stderr.toString() };
      };
      const version = run(["--version"]);
      expect(version.stdout).toMatch(/^den version \d+\.\d+\.\d+ \(commit [0-9a-f]{7,}(-dirty)?\)\n$/);
      const help = run(["--help"]);
      for (const verb of ["create", "list|ls", "validate", "template|tmpl", "info", "completion"]) expect(help.stdout).toContain(verb);
      const show = run(["template", "show", "debian"]);
      expect(show).toMatchObject({ exitCode: 0, stdout: expect.stringContaining("template:_images/debian-13") });
      const create = run(["create", "template:debian", "--name", "from-binary"]);
      expect(create.exitCode).toBe(0);
      const list = run(["list", "--format", "{{.Name}} {{.Status}}"]);
      expect(list.stdout).toBe("from-binary Stopped\n");
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  },
  { timeout: 120_000 },
);
