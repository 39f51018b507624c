// A TemplateContext for the template-loading tests: files from a map, every fetch a 404, a fixed host and folders.
// Each test overrides what it is about (its built-in templates, stdin, DEN_HOME).
import type { TemplateContext } from "../../../../lib/config/load-template.ts";

/** A TemplateContext that reads `files` (ENOENT for any other path); the other fields as given or dull defaults. */
export function templateContext(options: Partial<TemplateContext> & { files?: Record<string, string> } = {}): TemplateContext {
  const { files = {}, ...overrides } = options;
  return {
    env: {},
    denHome: "/home/u/.den",
    builtinTemplates: new Map(),
    readStdin: async () => "",
    readFile: async (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return text;
    },
    fetch: async () => new Response("", { status: 404 }),
    hostArch: "x86_64",
    cwd: "/cwd",
    home: "/home/u",
    ...overrides,
  };
}
