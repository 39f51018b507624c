import { describe, expect, test } from "bun:test";
import { ConfigError, DefaultConfigHint, DenError, describeSystemError, excerpt, excerptPath, formatIssue, formatIssues, formatPath, renderError, toDenError } from "../../lib/errors.ts";

describe("formatPath()", () => {
  test.each([
    { path: [], want: "" },
    { path: ["cpus"], want: "cpus" },
    { path: ["mounts", 0, "location"], want: "mounts[0].location" },
    { path: ["images", 2], want: "images[2]" },
    { path: ["env", "A\nB"], want: "env.A\\nB" },
    { path: ["env", "k".repeat(100)], want: `env.${"k".repeat(39)}…` },
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

describe("excerpt()", () => {
  test.each([
    { text: "", max: 80, want: "" },
    { text: "plain text", max: 80, want: "plain text" },
    { text: "line\nbreak", max: 80, want: "line\\nbreak" },
    { text: "\u001b[2J", max: 80, want: "\\x1b[2J" },
    { text: "zero\u200bwidth", max: 80, want: "zero\\u{200b}width" },
    { text: "abcdef", max: 4, want: "abc…" },
    { text: "abcd", max: 4, want: "abcd" },
    { text: "\u0000\u0000\u0000", max: 6, want: "\\x00…" },
    { text: "😀😀😀", max: 3, want: "😀…" },
    { text: "a\nb\tc\r", max: 80, want: "a\\nb\\tc\\r" },
    { text: "\u001b[31m", max: 80, want: "\\x1b[31m" },
    { text: "\u0000\u007f\u0085", max: 80, want: "\\x00\\x7f\\x85" },
    { text: "right\u202eleft", max: 80, want: "right\\u{202e}left" },
    { text: "x".repeat(100), max: 10, want: `${"x".repeat(9)}…` },
    { text: "x".repeat(10), max: 10, want: "x".repeat(10) },
    { text: "日本語テキスト", max: 4, want: "日本語…" },
  ].map((row) => ({ ...row, shown: testLabel(row.text) })))("excerpt() of $shown (max $max) escapes and shortens it", ({ text, max, want }) => {
    expect(excerpt(text, max)).toBe(want);
  });

  test("excerpt() of a 4 MiB text stays short", () => {
    expect(excerpt("x".repeat(4 * 2 ** 20)).length).toBe(80);
  });
});

describe("formatIssues()", () => {
  test("lists at most 20 issues and counts the rest", () => {
    const issues = Array.from({ length: 25 }, (_, i) => ({ path: [`k${i}`], message: "Unknown key" }));
    const lines = formatIssues(issues).split("\n");
    expect(lines).toHaveLength(21);
    expect(lines.at(-1)).toBe("… and 5 more problems");
    expect(new ConfigError("CONFIG_INVALID", issues).message.split("\n")).toHaveLength(21);
  });
});

describe("toDenError()", () => {
  const systemError = (code: string, syscall: string, path?: string) =>
    Object.assign(new Error(`${code}: reason from libc, ${syscall}`), { code, syscall, ...(path !== undefined && { path }) });

  test.each([
    { code: "EACCES", syscall: "mkdir", path: "/d/x", message: 'Cannot create the folder "/d/x": permission denied (EACCES)', hint: 'check the owner and permissions of "/d/x"' },
    { code: "ENOTDIR", syscall: "scandir", path: "/etc/passwd", message: 'Cannot list the folder "/etc/passwd": a part of the path is not a folder (ENOTDIR)', hint: "is DEN_HOME set to a file?" },
    { code: "ENOSPC", syscall: "write", path: "/d/x", message: 'Cannot write to "/d/x": no space left on the device (ENOSPC)', hint: 'free space on the file system that holds "/d/x"' },
    { code: "ENOSPC", syscall: "write", path: undefined, message: "Cannot write: no space left on the device (ENOSPC)", hint: "free space" },
    { code: "EROFS", syscall: "open", path: "/d/x", message: 'Cannot open "/d/x": the file system is read-only (EROFS)', hint: "writable file system" },
    { code: "ELOOP", syscall: "stat", path: "/d/x", message: 'Cannot inspect "/d/x": too many levels of symbolic links (ELOOP)', hint: "points back to itself" },
    { code: "EXYZ", syscall: "ioctl", path: "/d/x", message: 'Cannot ioctl "/d/x": reason from libc (EXYZ)', hint: "check the path" },
  ])("toDenError() explains $code from $syscall", ({ code, syscall, path, message, hint }) => {
    const converted = toDenError(systemError(code, syscall, path), { denHome: "/" }) as DenError;
    expect(converted).toBeInstanceOf(DenError);
    expect(converted.code).toBe("IO");
    expect(converted.message).toBe(message);
    expect(converted.hint).toContain(hint);
  });

  test("toDenError() names both paths of a rename", () => {
    const error = Object.assign(systemError("EXDEV", "rename", "/a"), { dest: "/b" });
    expect((toDenError(error) as DenError).message).toBe('Cannot rename "/a" to "/b": source and target are on different file systems (EXDEV)');
  });

  test("toDenError() escapes a path with control characters", () => {
    expect((toDenError(systemError("ENOENT", "open", "/tmp/\u001b[2Jx")) as DenError).message).toBe('Cannot open "/tmp/\\x1b[2Jx": no such file or folder (ENOENT)');
  });

  test("toDenError() leaves DenErrors and other errors alone", () => {
    const den = new DenError("USAGE", "x");
    const plain = new TypeError("y");
    expect(toDenError(den)).toBe(den);
    expect(toDenError(plain)).toBe(plain);
  });

  test("renderError() of a system error gives a hint instead of calling it a bug", () => {
    const rendered = renderError(systemError("EACCES", "open", "/d/den.yaml"));
    expect(rendered).toStartWith('error: Cannot open "/d/den.yaml": permission denied (EACCES)\nhint: ');
    expect(rendered).not.toContain("bug in den");
  });

  test("toDenError() explains ENAMETOOLONG that Bun raises with no syscall, and cuts the path short", () => {
    // What Bun throws for a 5,000-character DEN_HOME: a code and a path, no syscall.
    const path = `/tmp/${"d".repeat(5000)}/x`;
    const error = Object.assign(new Error(`ENAMETOOLONG: name too long, open '${path}'`), { code: "ENAMETOOLONG", path });
    const converted = toDenError(error, { denHome: path }) as DenError;
    expect(converted).toBeInstanceOf(DenError);
    expect(converted.message).toMatch(/^Cannot open "\/tmp\/d+…d+\/x": the path is too long \(ENAMETOOLONG\)$/);
    expect(converted.message.length).toBeLessThan(300);
    expect(converted.hint).toBe("use a shorter path, e.g. a shorter DEN_HOME");
    expect(renderError(error)).not.toContain("bug in den");
  });

  test.each([
    { code: "EIO", reason: "an input/output error happened", hint: 'check the disk that holds "/proc/self/mem"' },
    { code: "ELOOP", reason: "too many levels of symbolic links", hint: "points back to itself" },
    { code: "ENXIO", reason: "no such device or address", hint: "give a regular file" },
    { code: "EWEIRD", reason: "it went wrong", hint: "check the path and try again" },
  ])("describeSystemError() gives $code a reason and a hint, with the caller's path when the error has none", ({ code, reason, hint }) => {
    const error = Object.assign(new Error(`${code}: it went wrong, read`), { code, syscall: "read" });
    const described = describeSystemError(error, { path: "/proc/self/mem" });
    expect(described).toMatchObject({ code, action: "read", reason });
    expect(described?.hint).toContain(hint);
  });

  test("describeSystemError() leaves other errors alone", () => {
    expect(describeSystemError(new TypeError("x"))).toBeUndefined();
    expect(describeSystemError(Object.assign(new Error("x"), { code: "ERR_INVALID_ARG_TYPE" }))).toBeUndefined();
  });

  test("renderError() never passes a control character to the terminal", () => {
    const rendered = renderError(new DenError("USAGE", "bad \u001b[2J\u0007 value\u2028here", { hint: "a\u009bb" }));
    expect(rendered).toBe("error: bad \\x1b[2J\\x07 value\\u{2028}here\nhint: a\\x9bb");
  });
});

/** A test name that shows control and bidi characters as escapes rather than passing them to the terminal; long texts cut. */
function testLabel(text: string): string {
  return JSON.stringify(text.length > 20 ? `${text.slice(0, 20)}…` : text).replace(/[\u007f-\u009f\u2028-\u202e]/gu, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

describe("excerptPath()", () => {
  test.each([
    { name: "a short path whole", path: "/home/alice/den.yaml", want: "/home/alice/den.yaml" },
    { name: "a path of exactly the limit whole", path: `/${"a".repeat(199)}`, want: `/${"a".repeat(199)}` },
    { name: "control characters escaped", path: "/tmp/\u001b[2J", want: "/tmp/\\x1b[2J" },
    { name: "a long path by its start and its end", path: `/tmp/${"d".repeat(5000)}/file.yaml`, want: `/tmp/${"d".repeat(128)}…${"d".repeat(56)}/file.yaml` },
  ])("excerptPath() shows $name", ({ path, want }) => {
    const shown = excerptPath(path);
    expect(shown).toBe(want);
    expect(shown.length).toBeLessThanOrEqual(200);
  });
});

describe("ConfigError", () => {
  test("ConfigError has a hint even when none of its issues has one", () => {
    expect(new ConfigError("CONFIG_INVALID", [{ path: [], message: "Expected a mapping, got a list" }]).hint).toBe(DefaultConfigHint);
  });

  test("ConfigError takes the first issue's hint, and an explicit one over both", () => {
    const issues = [{ path: ["a"], message: "x" }, { path: ["b"], message: "y", hint: "from b" }];
    expect(new ConfigError("CONFIG_INVALID", issues).hint).toBe("from b");
    expect(new ConfigError("CONFIG_INVALID", issues, { hint: "given" }).hint).toBe("given");
  });
});
