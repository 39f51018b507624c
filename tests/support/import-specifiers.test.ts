import { expect, test } from "bun:test";
import { importSpecifiers, importTarget } from "./import-specifiers.ts";

test.each([
  { name: "a value import", source: 'import { a } from "../config/load.ts";', want: ["../config/load.ts"] },
  { name: "a type-only import", source: 'import type { GuestListener } from "../lib/a.ts";', want: ["../lib/a.ts"] },
  { name: "named imports with inline types", source: 'import { type Control, ControlSchema } from "./protocol/messages.ts";', want: ["./protocol/messages.ts"] },
  { name: "a default import with an attribute", source: 'import packageJson from "../package.json" with { type: "json" };', want: ["../package.json"] },
  { name: "a namespace import", source: "import * as path from 'node:path';", want: ["node:path"] },
  { name: "a default and named import", source: 'import x, { y } from "./x.ts";', want: ["./x.ts"] },
  { name: "an import split over lines", source: 'import {\n  a,\n  b,\n} from "../lib/b.ts";', want: ["../lib/b.ts"] },
  { name: "re-exports", source: 'export type { A } from "../lib/c.ts";\nexport * from "./d.ts";', want: ["../lib/c.ts", "./d.ts"] },
  { name: "a side-effect import", source: 'import "../lib/e.ts";', want: ["../lib/e.ts"] },
  { name: "a dynamic import", source: 'const m = await import("../lib/f.ts");', want: ["../lib/f.ts"] },
  { name: "nothing in exports that import nothing", source: 'export const from = "x";\nexport function f() {}', want: [] },
  { name: "nothing in comments", source: '// read from "../config/load.ts"\n/* import x from "../cli/y.ts" */', want: [] },
  { name: "nothing in a string that says from", source: 'throw new Error(`Cannot parse version from "${line}"`);', want: [] },
  { name: "an import after a string holding /*", source: 'const glob = "lib/**/*.ts";\nconst m = await import("./g.ts");', want: ["./g.ts"] },
])("importSpecifiers() finds $name", ({ source, want }) => {
  expect(importSpecifiers(source)).toEqual([...want]);
});

test.each([
  { file: "lib/store/x.ts", specifier: "../config/load.ts", want: "lib/config/load.ts" },
  { file: "agent/ports/scan.ts", specifier: "../../lib/errors.ts", want: "lib/errors.ts" },
  { file: "lib/yq/a.ts", specifier: "./b.ts", want: "lib/yq/b.ts" },
])("importTarget() resolves $specifier from $file to $want", ({ file, specifier, want }) => {
  expect(importTarget(file, specifier)).toBe(want);
});
