// The layering tests (agent/ imports, lib/store and lib/yq stay leaves) read import lines as text rather than through
// Bun's transpiler, which erases type-only imports: a type import still ties two layers together.
import { dirname, relative, resolve, sep } from "node:path";

/** The repository's root folder. */
export const repoRoot = resolve(import.meta.dir, "../..");

const staticImport = /^[ \t]*(?:import|export)\s+(?:type\s+)?(?:[\w$]+\s*,?\s*)?(?:\*\s*(?:as\s+[\w$]+\s*)?)?(?:\{[^}]*\}\s*)?from\s*["']([^"']+)["']/gm;
const sideEffectImport = /^[ \t]*import\s*["']([^"']+)["']/gm;
const dynamicImport = /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g;
// Only comments that open a line are dropped: a "/*" inside a string (a glob, a hint) must not swallow the code after it.
const lineComment = /^[ \t]*\/\/.*$/gm;
const blockComment = /^[ \t]*\/\*[\s\S]*?\*\//gm;

/**
 * Every module specifier in `source`: static imports and re-exports (type-only ones too), side-effect imports, then
 * dynamic `import()`; an import written in a comment is not one.
 */
export function importSpecifiers(source: string): string[] {
  const code = source.replace(blockComment, "").replace(lineComment, "");
  return [staticImport, sideEffectImport, dynamicImport].flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match[1] as string));
}

/** The repo-relative path, with forward slashes, that the relative `specifier` in the repo file `file` names. */
export function importTarget(file: string, specifier: string): string {
  return relative(repoRoot, resolve(repoRoot, dirname(file), specifier)).split(sep).join("/");
}
