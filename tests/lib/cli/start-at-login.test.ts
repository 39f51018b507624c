import { describe, expect, test } from "bun:test";
import { access, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseEnabled } from "../../../lib/cli/start-at-login-command.ts";
import { DenError } from "../../../lib/errors.ts";
import { makeInstance } from "../store/support/fake-instance.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";

describe("parseEnabled()", () => {
  test.each([
    { value: "true", want: true },
    { value: "1", want: true },
    { value: "false", want: false },
    { value: "FALSE", want: false },
    { value: "0", want: false },
  ])("reads --enabled=$value", ({ value, want }) => {
    expect(parseEnabled(value)).toBe(want);
  });

  test("refuses a value that is no boolean, such as an instance name", () => {
    expect(() => parseEnabled("vm")).toThrow(DenError);
  });
});

// PATH without systemctl or launchctl: den writes and removes the file under a temporary home and tells no service manager.
describe("den start-at-login", () => {
  test("writes the unit (den-NAME.service; a plist on macOS) and removes it with --enabled=false", async () => {
    const denHome = await makeDenHome();
    await makeInstance(denHome, "vm");
    const emptyPath = join(denHome, "_nobin");
    await mkdir(emptyPath);
    const env = { PATH: emptyPath, XDG_CONFIG_HOME: join(denHome, "_xdg"), HOME: denHome };
    const unit =
      process.platform === "darwin" ? join(denHome, "Library", "LaunchAgents", "io.den.autostart.vm.plist") : join(denHome, "_xdg", "systemd", "user", "den-vm.service");

    const on = await runDen(["start-at-login", "vm"], { denHome, env });
    expect(on.exitCode).toBe(0);
    expect(on.stderr).toContain("was not found, so nothing was enabled");
    const text = await readFile(unit, "utf8");
    expect(text).toContain(process.platform === "darwin" ? "<string>--foreground</string>" : " start vm --foreground\n");
    expect(text).toContain(denHome);

    const off = await runDen(["start-at-login", "vm", "--enabled=false"], { denHome, env });
    expect(off.exitCode).toBe(0);
    expect(off.stderr).toContain("has been deleted");
    expect(await access(unit).then(() => true, () => false)).toBe(false);
  });

  test("refuses to register an instance that does not exist", async () => {
    const denHome = await makeDenHome();
    const run = await runDen(["start-at-login", "nope"], { denHome, env: { PATH: denHome, XDG_CONFIG_HOME: join(denHome, "_xdg") } });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('"nope"');
  });
});
