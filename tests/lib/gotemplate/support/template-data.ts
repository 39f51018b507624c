// Data shaped like what Lima's templates see (host/guest template variables and `list --format` fields),
// and helpers to render a template against it or catch its error.
import { expect } from "bun:test";
import type { DenError } from "../../../../lib/errors.ts";
import { expandGoTemplate, type GoTemplateOptions } from "../../../../lib/gotemplate/expand-go-template.ts";
import { caughtDenError } from "../../../support/caught-den-error.ts";

export const data: Record<string, unknown> = {
  Home: "/home/alice",
  Name: "default",
  UID: 501,
  Dir: "/Users/alice/.lima/default",
  Status: "Running",
  SSHLocalPort: 60022,
  Param: { DOCKER: "yes", EMPTY: "" },
  Instance: { Dir: "/Users/alice/.lima/default", Name: "default" },
  Config: { CPUs: 4, Memory: "4GiB", Mounts: [{ Location: "/home/alice", Writable: false }] },
  List: ["a", "b", "c"],
  Empty: [],
  EmptyMap: {},
  Map: { zeta: 1, alpha: 2 },
  Rows: [
    { name: "x", port: 22 },
    { name: "y", port: 80 },
  ],
  Ratio: 1.5,
  Zero: 0,
  Flag: false,
  Nothing: null,
};

export function render(text: string, options: GoTemplateOptions = {}): string {
  return expandGoTemplate(text, data, options);
}

/** The DenError a template fails with; fails the test when it renders. */
export function renderFailure(text: string, options: GoTemplateOptions = {}): DenError {
  const error = caughtDenError(() => render(text, options));
  expect(error.code).toBe("TEMPLATE_EXPR");
  return error;
}

/** The part of a failure's message after the location, e.g. `map has no entry for key "Nope"`. */
export function failureReason(text: string, options: GoTemplateOptions = {}): string {
  return renderFailure(text, options).message.replace(/^.* at (line \d+, )?column \d+: /, "");
}
