import { expect, test } from "bun:test";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { engineChecks } from "../../../lib/hostagent/engine-checks.ts";
import { guestScriptCommand } from "../../../lib/hostagent/guest-script.ts";
import { run } from "../../../lib/process/run.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

const base = { plain: false, os: "Linux" as const, guestInstallPrefix: "/usr/local" };
const containerd = (user: boolean, system: boolean) => ({ user, system, archives: [] });

test.each<{ name: string; config: Parameters<typeof engineChecks>[0]; checks: string[] }>([
  { name: "containerd off", config: { ...base, containerd: containerd(false, false) }, checks: [] },
  { name: "a plain instance", config: { ...base, plain: true, containerd: containerd(true, true) }, checks: [] },
  {
    name: "rootless containerd (Lima's default)",
    config: { ...base, containerd: containerd(true, false) },
    checks: ["systemd must be available", "containerd binaries to be installed", "containerd (rootless, for the user) to be running"],
  },
  {
    name: "system containerd",
    config: { ...base, containerd: containerd(false, true) },
    checks: ["systemd must be available", "containerd binaries to be installed", "containerd (system) to be running"],
  },
  {
    name: "both",
    config: { ...base, containerd: containerd(true, true) },
    checks: ["systemd must be available", "containerd binaries to be installed", "containerd (system) to be running", "containerd (rootless, for the user) to be running"],
  },
])("engineChecks() checks $name", ({ config, checks }) => {
  expect(engineChecks(config).map((check) => check.description)).toEqual(checks);
});

test("engineChecks() makes only the systemd check fatal and gives the running checks the engine's log", () => {
  const checks = engineChecks({ ...base, containerd: containerd(true, true) });
  expect(checks.map((check) => Boolean(check.fatal))).toEqual([true, false, false, false]);
  expect(checks[2]?.logCommand).toBe("sudo -n journalctl -u containerd -n 20 --no-pager 2>&1");
  expect(checks[3]?.logCommand).toContain("journalctl --user -u containerd -n 20 --no-pager");
});

test.each([
  { name: "passes when the binary is installed under the prefix", install: true, code: 0 },
  { name: "fails, naming the path, when it is not", install: false, code: 1 },
])("the binaries check $name", async ({ install, code }) => {
  const prefix = await makeTempDir("den-engine-");
  if (install) {
    await mkdir(join(prefix, "bin"));
    await writeFile(join(prefix, "bin", "containerd"), "#!/bin/sh\n");
    await chmod(join(prefix, "bin", "containerd"), 0o755);
  }
  const check = engineChecks({ ...base, guestInstallPrefix: `${prefix}/`, containerd: containerd(true, false) })[1];
  const result = await run(["sh", "-c", guestScriptCommand(check?.script ?? "", { exportParams: false })]);
  expect(result.code).toBe(code);
  if (!install) expect(result.stderrTail).toBe(`${prefix}/bin/containerd is not installed (yet)\n`);
});
