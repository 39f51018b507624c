// lib/store is the leaf every layer imports (file names, folders, instance names, pid files, the lock). If it imported
// lib/config, lib/hostagent or lib/cli, those would import each other in a circle; this test keeps the leaf a leaf.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { importSpecifiers, importTarget, repoRoot as root } from "../../support/import-specifiers.ts";

/** What lib/store may import: itself, and modules that import nothing of den's above them. */
const leafFiles = ["lib/errors.ts"];
const leafFolders = ["lib/store/", "lib/fs/", "lib/process/"];
/** zod: schema files are leaves that import only zod and filenames.ts. */
const leafPackages = ["zod"];

/** Why `specifier`, imported by `file` (a repo path), is not a leaf; undefined when it is. */
function notLeaf(file: string, specifier: string): string | undefined {
  if (specifier.startsWith("node:") || leafPackages.includes(specifier)) return undefined;
  if (!specifier.startsWith(".")) return `${file} imports the package "${specifier}"`;
  const target = importTarget(file, specifier);
  if (leafFiles.includes(target) || leafFolders.some((folder) => target.startsWith(folder))) return undefined;
  return `${file} imports ${target}`;
}

function storeFiles(): string[] {
  return readdirSync(join(root, "lib/store"), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => `lib/store/${name}`)
    .sort();
}

describe("lib/store stays a leaf", () => {
  test("lib/store has files to check", () => {
    expect(storeFiles()).toContain("lib/store/filenames.ts");
  });

  test.each(storeFiles().map((file) => ({ file })))("$file imports only leaf modules", ({ file }) => {
    const problems = importSpecifiers(readFileSync(join(root, file), "utf8")).flatMap((specifier) => notLeaf(file, specifier) ?? []);
    expect(problems).toEqual([]);
  });

  test("every module lib/store reaches, directly or through a leaf, is a leaf", () => {
    const seen = new Set<string>();
    const queue = storeFiles();
    const problems: string[] = [];
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const specifier of importSpecifiers(readFileSync(join(root, file), "utf8"))) {
        const problem = notLeaf(file, specifier);
        if (problem) problems.push(problem);
        else if (specifier.startsWith(".")) queue.push(importTarget(file, specifier));
      }
    }
    expect(problems).toEqual([]);
    expect(seen.has("lib/errors.ts")).toBe(true);
  });

  test.each([
    { file: "lib/store/x.ts", specifier: "../config/load.ts", want: "lib/store/x.ts imports lib/config/load.ts" },
    { file: "lib/store/x.ts", specifier: "../hostagent/api-client.ts", want: "lib/store/x.ts imports lib/hostagent/api-client.ts" },
    { file: "lib/store/x.ts", specifier: "../cli/list.ts", want: "lib/store/x.ts imports lib/cli/list.ts" },
    { file: "lib/store/x.ts", specifier: "yaml", want: `lib/store/x.ts imports the package "yaml"` },
    { file: "lib/store/x.ts", specifier: "./filenames.ts", want: undefined },
    { file: "lib/store/x.ts", specifier: "../errors.ts", want: undefined },
    { file: "lib/store/x.ts", specifier: "../fs/read-bounded.ts", want: undefined },
    { file: "lib/store/x.ts", specifier: "../process/sleep.ts", want: undefined },
    { file: "lib/store/x.ts", specifier: "node:path", want: undefined },
  ])("notLeaf() judges $specifier imported by $file", ({ file, specifier, want }) => {
    expect(notLeaf(file, specifier)).toBe(want);
  });
});
