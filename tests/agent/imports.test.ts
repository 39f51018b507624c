// agent/ is compiled into den-guestagent, a separate program that runs in the guest. Whatever it imports from the host
// side is built into that binary and becomes a contract between two programs, so it is kept to an explicit list, each
// entry with the reason sharing is right. Wire types are not on it: they come from agent/protocol/messages.ts, which
// the host imports instead.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, sep } from "node:path";
import { importSpecifiers, importTarget, repoRoot as repo } from "../support/import-specifiers.ts";

/** Files outside agent/ that agent/ may import (repo-relative), and why. */
const allowed: Readonly<Record<string, string>> = {
  "lib/version.ts": "the WELCOME and `den-guestagent --version` report den's own version and commit: den embeds the agent it talks to",
  "lib/errors.ts":
    "DenError and renderError: the shared yq engine throws DenError, so `den-guestagent yq` reports failures in den's wording; a leaf file that imports nothing",
  "lib/yq/evaluate-yq.ts": "the yq engine: `provision: mode: yq` in the guest must evaluate exactly as `--set` does on the host",
  "lib/yq/reconcile-document.ts": "the yq engine's write-back into a YAML Document (comments and key order kept), as on the host",
  "lib/config/parse.ts": "YAML text to Document with den's error positions: the parse `--set` uses on the host, so syntax errors read the same",
};

/** Each relative import leaving agent/, as repo-relative "importer -> target" pairs. */
function outsideImports(): { importer: string; target: string }[] {
  const found: { importer: string; target: string }[] = [];
  for (const file of new Bun.Glob("agent/**/*.ts").scanSync({ cwd: repo })) {
    for (const specifier of importSpecifiers(readFileSync(join(repo, file), "utf8"))) {
      // Packages (zod, yaml, node:*, bun:*) are the binary's own dependencies, not host code.
      if (!specifier.startsWith(".") && !specifier.startsWith("/")) continue;
      const target = importTarget(file, specifier);
      if (!target.startsWith("agent/")) found.push({ importer: file.split(sep).join("/"), target });
    }
  }
  return found;
}

describe("agent/ imports", () => {
  test("agent/ imports nothing outside agent/ but the allow-list", () => {
    const refused = outsideImports()
      .filter(({ target }) => allowed[target] === undefined)
      .map(({ importer, target }) => `${importer} imports ${target}: take it from agent/ or add it to the allow-list with a reason`);
    expect(refused).toEqual([]);
  });

  test("every allow-list entry is still imported by agent/", () => {
    const used = new Set(outsideImports().map(({ target }) => target));
    const stale = Object.keys(allowed).filter((target) => !used.has(target));
    expect(stale).toEqual([]);
  });

  test("the scan sees agent/agent.ts import the protocol", () => {
    const specifiers = importSpecifiers(readFileSync(join(repo, "agent/agent.ts"), "utf8"));
    expect(specifiers).toContain("./protocol/messages.ts");
  });
});
