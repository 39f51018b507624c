import { describe, expect, test } from "bun:test";
import { ConfigError, DenError, formatIssue, formatPath, renderError } from "../../lib/errors.ts";

describe("formatPath()", () => {
  test.each([
    { path: [], want: "" },
    { path: ["cpus"], want: "cpus" },
    { path: ["mounts", 0, "location"], want: "mounts[0].location" },
    { path: ["images", 2], want: "images[2]" },
  ])("formats $want", ({ path, want }) => {
    expect(formatPath(path)).toBe(want);
  });
});

describe("formatIssue()", () => {
  test("puts file, line and column before the path", () => {
    expect(formatIssue({ file: "a.yaml", line: 3, column: 5, path: ["cpus"], message: "Expected a number" })).toBe(
      "a.yaml:3:5: cpus: Expected a number",
    );
  });
  test("leaves out parts that are unknown", () => {
    expect(formatIssue({ path: [], message: "Broken" })).toBe("Broken");
  });
});

describe("renderError()", () => {
  test("prints the hint on its own line", () => {
    const error = new DenError("INSTANCE_NOT_FOUND", 'Cannot find instance "x"', { hint: "run `den list`" });
    expect(renderError(error)).toBe('error: Cannot find instance "x"\nhint: run `den list`');
  });
  test("a ConfigError lists every issue", () => {
    const error = new ConfigError("CONFIG_INVALID", [
      { path: ["cpus"], message: "too small" },
      { path: ["memory"], message: "not a size", hint: "use 4GiB" },
    ]);
    expect(error.message).toBe("cpus: too small\nmemory: not a size");
    expect(error.hint).toBe("use 4GiB");
  });
  test("shows no stack without debug", () => {
    expect(renderError(new Error("boom"))).not.toContain("at ");
  });
});
