import { expect, test } from "bun:test";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../../../lib/errors.ts";
import { CurrentInstanceFormat, ensureInstanceFormat, formatAction, instanceFormatText, parseInstanceFormat } from "../../../lib/store/instance-format.ts";
import { existingInstanceDir } from "../../../lib/store/instance-name.ts";
import { rejectedError } from "../../support/caught-den-error.ts";
import { makeDenHome, runDen } from "../cli/support/run-den.ts";

test.each([
  { text: "1\n", want: 1 },
  { text: " 12 ", want: 12 },
  { text: "0", want: 0 },
  { text: "", want: undefined },
  { text: "1.5", want: undefined },
  { text: "-1", want: undefined },
  { text: "v2", want: undefined },
])("parseInstanceFormat() of $text is $want", ({ text, want }) => {
  expect(parseInstanceFormat(text)).toBe(want);
});

test.each([
  { found: undefined, current: 1, want: "migrate" },
  { found: 0, current: 1, want: "migrate" },
  { found: 1, current: 1, want: "use" },
  { found: 2, current: 1, want: "refuse" },
  { found: 1, current: 3, want: "migrate" },
])("formatAction() of format $found when den reads $current is $want", ({ found, current, want }) => {
  expect(formatAction(found, current)).toBe(want);
});

/** A folder as den wrote it before format versions: den.yaml and lima-version, or the first releases' lima.yaml. */
async function previousFormatFolder(options: { configName: "den.yaml" | "lima.yaml" }): Promise<{ denHome: string; dir: string }> {
  const denHome = await makeDenHome();
  const dir = join(denHome, "old");
  await mkdir(dir, { mode: 0o700 });
  await writeFile(join(dir, options.configName), "images:\n- location: /nonexistent/den-test.img\n  arch: x86_64\n");
  await writeFile(join(dir, "lima-version"), "0.1.0\n");
  return { denHome, dir };
}

test.each([{ configName: "den.yaml" as const }, { configName: "lima.yaml" as const }])(
  "existingInstanceDir() migrates a folder of the previous format with $configName",
  async ({ configName }) => {
    const { denHome, dir } = await previousFormatFolder({ configName });
    expect(await existingInstanceDir(denHome, "old")).toBe(dir);
    expect((await readdir(dir)).sort()).toEqual(["den-format", "den.yaml", "lima-version"]);
    expect(await readFile(join(dir, "den-format"), "utf8")).toBe(instanceFormatText());
    expect(await readFile(join(dir, "den.yaml"), "utf8")).toContain("/nonexistent/den-test.img");
  },
);

test("ensureInstanceFormat() keeps den.yaml when lima.yaml is there too", async () => {
  const { dir } = await previousFormatFolder({ configName: "den.yaml" });
  await writeFile(join(dir, "lima.yaml"), "cpus: 9\n");
  await ensureInstanceFormat(dir, { name: "old" });
  expect(await readFile(join(dir, "den.yaml"), "utf8")).not.toContain("cpus: 9");
  expect(await readFile(join(dir, "lima.yaml"), "utf8")).toBe("cpus: 9\n");
});

test("ensureInstanceFormat() of a current folder changes nothing", async () => {
  const { dir } = await previousFormatFolder({ configName: "den.yaml" });
  await writeFile(join(dir, "den-format"), instanceFormatText());
  const before = await stat(join(dir, "den-format"));
  await ensureInstanceFormat(dir, { name: "old" });
  expect((await stat(join(dir, "den-format"))).mtimeMs).toBe(before.mtimeMs);
});

test.each([
  { name: "a newer den's folder", content: `${CurrentInstanceFormat + 1}\n`, message: `its folder has format version ${CurrentInstanceFormat + 1}, and this den reads version ${CurrentInstanceFormat} and older` },
  { name: "a folder with a broken version", content: "two\n", message: "holds no format version" },
])("existingInstanceDir() refuses $name and leaves it untouched", async ({ content, message }) => {
  const { denHome, dir } = await previousFormatFolder({ configName: "lima.yaml" });
  await writeFile(join(dir, "den-format"), content);
  const error = await rejectedError(existingInstanceDir(denHome, "old"), DenError);
  expect(error.code).toBe("INSTANCE_FORMAT");
  expect(error.message).toContain(message);
  expect(error.message).toContain('"old"');
  expect(error.hint).toBeDefined();
  expect((await readdir(dir)).sort()).toEqual(["den-format", "lima-version", "lima.yaml"]);
  expect(await readFile(join(dir, "den-format"), "utf8")).toBe(content);
});

test("den list migrates a previous-format folder and shows a newer den's folder as Broken without touching it", async () => {
  const { denHome, dir } = await previousFormatFolder({ configName: "lima.yaml" });
  const newer = join(denHome, "newer");
  await mkdir(newer, { mode: 0o700 });
  await writeFile(join(newer, "den.yaml"), "images:\n- location: /nonexistent/den-test.img\n  arch: x86_64\n");
  await writeFile(join(newer, "den-format"), "99\n");
  const run = await runDen(["list", "--json"], { denHome });
  expect(run.exitCode).toBe(0);
  const rows = run.stdout.trim().split("\n").map((line) => JSON.parse(line) as { name: string; status: string; errors?: string[] });
  expect(rows.find((row) => row.name === "old")?.status).toBe("Stopped");
  const broken = rows.find((row) => row.name === "newer");
  expect(broken?.status).toBe("Broken");
  expect(broken?.errors?.[0]).toContain("format version 99");
  expect((await readdir(dir)).sort()).toEqual(["den-format", "den.yaml", "lima-version"]);
  expect((await readdir(newer)).sort()).toEqual(["den-format", "den.yaml"]);
});

test("den create writes the current format version", async () => {
  const denHome = await makeDenHome();
  expect((await runDen(["create", "template:debian", "--name", "vm"], { denHome })).exitCode).toBe(0);
  expect(await readFile(join(denHome, "vm", "den-format"), "utf8")).toBe(`${CurrentInstanceFormat}\n`);
});
