// `den NAME …` runs den-NAME: arguments, environment, stdin/stdout and the exit status pass through; the help lists it.
import { expect, test } from "bun:test";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeDenHome, runDen } from "../cli/support/run-den.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

async function pluginDir(scripts: Record<string, string>): Promise<string> {
  const dir = await makeTempDir("den-plugins-");
  for (const [name, body] of Object.entries(scripts)) {
    await writeFile(join(dir, name), body);
    await chmod(join(dir, name), 0o755);
  }
  return dir;
}

const hello = `#!/bin/sh
# <den-desc>Say hello</den-desc>
printf 'args:'; for a in "$@"; do printf ' [%s]' "$a"; done; echo
echo "home=$DEN_HOME"
echo "in=$(cat)"
echo "to stderr" >&2
exit 7
`;

test("den hello a 'b c' runs den-hello with the arguments, DEN_HOME, stdin, and passes its exit status", async () => {
  const dir = await pluginDir({ "den-hello": hello });
  const denHome = await makeDenHome();
  const run = await runDen(["--debug", "hello", "a", "b c", "--json"], { denHome, stdin: "piped", env: { PATH: `${dir}:${process.env.PATH}` } });
  expect(run.exitCode).toBe(7);
  expect(run.stdout).toBe(`args: [a] [b c] [--json]\nhome=${denHome}\nin=piped\n`);
  expect(run.stderr).toBe("to stderr\n");
});

test("a plugin finds den's own folder first on its PATH", async () => {
  const dir = await pluginDir({ "den-path": '#!/bin/sh\necho "$PATH"\n' });
  const run = await runDen(["path"], { denHome: await makeDenHome(), env: { PATH: `${dir}:/usr/bin:/bin` } });
  expect(run.exitCode).toBe(0);
  const entries = run.stdout.trim().split(":");
  expect(entries[0]).toBe(join(import.meta.dir, "../../.."));
  expect(entries).toContain(dir);
});

test.each([
  { name: "a den command", args: ["list", "--quiet"], stdout: "" },
  { name: "an unknown command without a plugin", args: ["nope"], stderr: "unknown command 'nope'" },
  { name: "a name with a path", args: ["../den-hello"], stderr: "unknown command '../den-hello'" },
])("den does not run a plugin for $name", async ({ args, stderr }) => {
  const dir = await pluginDir({ "den-hello": hello, "den-list": "#!/bin/sh\necho plugin\n" });
  const run = await runDen(args, { denHome: await makeDenHome(), env: { PATH: `${dir}:${process.env.PATH}` } });
  expect(run.stdout).not.toContain("plugin");
  if (stderr) expect(run.stderr).toContain(stderr);
});

test("den --help lists plugins with their descriptions and hides URL scheme plugins", async () => {
  const dir = await pluginDir({ "den-hello": hello, "den-url-test": "#!/bin/sh\necho x\n", "den-bare": "#!/bin/sh\n", "den-notexec.sh": "" });
  await chmod(join(dir, "den-notexec.sh"), 0o644);
  const run = await runDen(["--help"], { denHome: await makeDenHome(), env: { PATH: `${dir}:${process.env.PATH}` } });
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toEndWith("\nAvailable plugins (experimental):\n  bare\n  hello  Say hello\n");
});
