import { expect, test } from "bun:test";
import { access, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { autostartPlan } from "../../../lib/autostart/autostart-plan.ts";
import { type AutostartContext, registerAutostart, unregisterAutostart } from "../../../lib/autostart/register-autostart.ts";
import { DenError } from "../../../lib/errors.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

/** Files in a temporary folder; commands recorded, never run: the real user's systemd is never touched. */
async function fakeHost(options: { manager?: boolean; failing?: string } = {}) {
  const home = await makeTempDir("den-autostart-");
  const ran: string[] = [];
  const ctx: AutostartContext = {
    writeFile: (path, content) => writeFile(path, content),
    removeFile: (path) => rm(path).then(() => true, () => false),
    mkdir: async (path) => {
      await mkdir(path, { recursive: true });
    },
    exists: (path) => access(path).then(() => true, () => false),
    which: (program) => (options.manager === false ? null : `/usr/bin/${program}`),
    run: async (argv) => {
      ran.push(argv.join(" "));
      return argv.includes(options.failing ?? "\0") ? { code: 1, stderrTail: "Failed to connect to bus: No medium found\n" } : { code: 0, stderrTail: "" };
    },
  };
  const plan = autostartPlan({ platform: "linux", env: { HOME: home }, uid: 1000 }, { instance: "vm", command: ["/bin/den"], denHome: join(home, ".den"), instanceDir: join(home, ".den", "vm") });
  return { ctx, plan, ran };
}

test.each([
  { name: "writes the unit and enables it", manager: true, ran: ["systemctl --user daemon-reload", "systemctl --user enable den-vm.service"], outcome: { changed: true } },
  { name: "writes the unit and says so when systemctl is missing", manager: false, ran: [], outcome: { changed: true, managerMissing: true } },
])("registerAutostart() $name", async ({ manager, ran, outcome }) => {
  const host = await fakeHost({ manager });
  expect(await registerAutostart(host.plan, host.ctx)).toEqual(outcome);
  expect(await readFile(host.plan.path, "utf8")).toBe(host.plan.content);
  expect(host.ran).toEqual([...ran]);
});

test("registerAutostart() fails with AUTOSTART and systemctl's reason when systemctl fails", async () => {
  const host = await fakeHost({ failing: "enable" });
  const error = await registerAutostart(host.plan, host.ctx).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(DenError);
  expect((error as DenError).code).toBe("AUTOSTART");
  expect((error as DenError).message).toContain("No medium found");
});

test.each([
  { name: "disables and removes a registered unit", registered: true, ran: ["systemctl --user disable den-vm.service", "systemctl --user daemon-reload"], outcome: { changed: true } },
  { name: "does nothing when none is registered", registered: false, ran: [], outcome: { changed: false } },
])("unregisterAutostart() $name", async ({ registered, ran, outcome }) => {
  const host = await fakeHost();
  if (registered) {
    await registerAutostart(host.plan, host.ctx);
    host.ran.length = 0;
  }
  expect(await unregisterAutostart(host.plan, host.ctx)).toEqual(outcome);
  expect(await access(host.plan.path).then(() => true, () => false)).toBe(false);
  expect(host.ran).toEqual([...ran]);
});
