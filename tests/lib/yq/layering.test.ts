// lib/yq is a general engine that the guest agent builds in as well as the host's config pipeline: it must not
// reach back into lib/config (or anything else of den), or the agent binary would pull the config pipeline in.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { resolve, sep } from "node:path";
import { importSpecifiers, importTarget, repoRoot as repo } from "../../support/import-specifiers.ts";

/** Whether lib/yq may import `specifier`: lib/yq itself, lib/errors.ts, the yaml package and node builtins. */
function allowed(file: string, specifier: string): boolean {
  if (specifier === "yaml") return true;
  if (specifier.startsWith("node:") || builtinModules.includes(specifier)) return true;
  if (!specifier.startsWith(".")) return false;
  const target = importTarget(file, specifier);
  return target === "lib/errors.ts" || target.startsWith("lib/yq/");
}

const files = [...new Bun.Glob("lib/yq/**/*.ts").scanSync({ cwd: repo })].map((file) => file.split(sep).join("/")).sort();

test("lib/yq holds the engine's files", () => {
  expect(files).toContain("lib/yq/evaluate-yq.ts");
  expect(files).toContain("lib/yq/reconcile-document.ts");
});

test("lib/yq imports only lib/yq, lib/errors.ts, yaml and node builtins", () => {
  const refused = files.flatMap((file) =>
    importSpecifiers(readFileSync(resolve(repo, file), "utf8"))
      .filter((specifier) => !allowed(file, specifier))
      .map((specifier) => `${file} imports ${specifier}`),
  );
  expect(refused).toEqual([]);
});

test.each([
  { specifier: "../errors.ts", ok: true },
  { specifier: "./parse-yq.ts", ok: true },
  { specifier: "yaml", ok: true },
  { specifier: "node:fs", ok: true },
  { specifier: "../config/parse.ts", ok: false },
  { specifier: "../store/filenames.ts", ok: false },
  { specifier: "zod", ok: false },
])("the layering check allows $specifier from lib/yq: $ok", ({ specifier, ok }) => {
  expect(allowed("lib/yq/evaluate-yq.ts", specifier)).toBe(ok);
});
