import { describe, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderSystemdUnit, systemdUnitName } from "../../../lib/autostart/systemd-unit.ts";
import { DenError } from "../../../lib/errors.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

const den = ["/usr/local/bin/den"];

describe("renderSystemdUnit()", () => {
  test.each([
    { name: "starts and stops the instance through den", params: { instance: "vm", command: den, denHome: "/home/u/.den" }, lines: ["ExecStart=/usr/local/bin/den start vm --foreground", "ExecStop=/usr/local/bin/den stop vm", 'Environment="DEN_HOME=/home/u/.den"', "WantedBy=default.target", "Restart=on-failure"] },
    { name: "runs den from source as bun and main.ts", params: { instance: "a.b", command: ["/opt/bun", "/src/den/main.ts"], denHome: "/d" }, lines: ["ExecStart=/opt/bun /src/den/main.ts start a.b --foreground"] },
    { name: "quotes a path with spaces", params: { instance: "vm", command: ["/Apps/my den/den"], denHome: "/d" }, lines: ['ExecStart="/Apps/my den/den" start vm --foreground'] },
    { name: "doubles % and $ so systemd expands neither", params: { instance: "vm", command: ["/x%i/$HOME/den"], denHome: "/h%h" }, lines: ["ExecStart=/x%%i/$$HOME/den start vm --foreground", 'Environment="DEN_HOME=/h%%h"'] },
    { name: "escapes quotes and backslashes inside quotes", params: { instance: "vm", command: ['/a "b"\\c'], denHome: "/d" }, lines: ['ExecStart="/a \\"b\\"\\\\c" start vm --foreground'] },
  ])("$name", ({ params, lines }) => {
    const text = renderSystemdUnit(params);
    for (const line of lines) expect(text.split("\n")).toContain(line);
  });

  test("refuses a line break in a path", () => {
    expect(() => renderSystemdUnit({ instance: "vm", command: ["/a\nb"], denHome: "/d" })).toThrow(DenError);
  });

  test("names the unit den-NAME.service", () => {
    expect(systemdUnitName("my-vm")).toBe("den-my-vm.service");
  });
});

// The unit file checked by systemd itself (system mode: a user manager may be absent where tests run).
describe("systemd-analyze verify", () => {
  const verify = async (text: string) => {
    const dir = await makeTempDir("den-unit-");
    const path = join(dir, "den-vm.service");
    await writeFile(path, text);
    const run = Bun.spawnSync(["systemd-analyze", "verify", path], { stdout: "pipe", stderr: "pipe" });
    return { code: run.exitCode, stderr: run.stderr.toString() };
  };

  test.each([
    { name: "accepts the rendered unit", command: [process.execPath, join(import.meta.dir, "../../../main.ts")], denHome: "/home/u/.den" },
    { name: "accepts the rendered unit with quoted and escaped paths", command: [process.execPath, join(import.meta.dir, "../../../main.ts")], denHome: "/home/u/my den%$x" },
  ])("$name", async ({ command, denHome }) => {
    const result = await verify(renderSystemdUnit({ instance: "vm", command, denHome }));
    expect(result.stderr).not.toContain("den-vm.service:");
    expect(result.code).toBe(0);
  });

  test("rejects a unit whose program is not an absolute path, so the check above means something", async () => {
    const result = await verify(renderSystemdUnit({ instance: "vm", command: ["den"], denHome: "/d" }).replace("ExecStart=den", "ExecStart=./den"));
    expect(result.code).not.toBe(0);
  });
});
