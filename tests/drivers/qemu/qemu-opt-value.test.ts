import { describe, expect, test } from "bun:test";
import { qemuDriveFile, qemuOptValue, qemuPlainValue } from "../../../drivers/qemu/qemu-opt-value.ts";

const field = { name: "mounts[0].location", hint: "mount a folder whose path has no line breaks" };

describe("qemuOptValue()", () => {
  test.each([
    { value: "/home/alice/proj", want: "/home/alice/proj" },
    { value: "/home/alice/a,b", want: "/home/alice/a,,b" },
    { value: "/p,path=/,security_model=passthrough", want: "/p,,path=/,,security_model=passthrough" },
    { value: ",,", want: ",,,," },
    { value: "/with space/and=equals", want: "/with space/and=equals" },
    { value: "", want: "" },
  ])("qemuOptValue() turns $value into $want", ({ value, want }) => {
    expect(qemuOptValue(value, field)).toBe(want);
  });

  test.each([
    { value: "/a\nb", what: "a line break" },
    { value: "/a\rb", what: "a line break" },
    { value: "/a\0b", what: "a NUL byte" },
  ])("qemuOptValue() refuses $value naming the field", ({ value, what }) => {
    expect(() => qemuOptValue(value, field)).toThrow(expect.objectContaining({
      code: "CONFIG_INVALID",
      message: `Cannot pass mounts[0].location ${JSON.stringify(value)} to QEMU: it contains ${what}`,
      hint: field.hint,
    }));
  });

  test("qemuOptValue() quotes at most 120 characters of a long refused value", () => {
    const value = `/${"x".repeat(5000)}\n`;
    expect(() => qemuOptValue(value, field)).toThrow(expect.objectContaining({ message: `Cannot pass mounts[0].location "/${"x".repeat(119)}…" to QEMU: it contains a line break` }));
  });
});

describe("qemuPlainValue()", () => {
  test.each([{ value: "/den,home/dev/kernel" }, { value: "root=/dev/vda console=ttyS0,115200" }])("qemuPlainValue() keeps $value as it is", ({ value }) => {
    expect(qemuPlainValue(value, field)).toBe(value);
  });

  test("qemuPlainValue() refuses a line break", () => {
    expect(() => qemuPlainValue("/a\nb", field)).toThrow(expect.objectContaining({ code: "CONFIG_INVALID" }));
  });
});

describe("qemuDriveFile()", () => {
  test("qemuDriveFile() doubles the commas of an absolute path", () => {
    expect(qemuDriveFile("/den,x/dev/disk", field)).toBe("/den,,x/dev/disk");
  });

  test.each([{ path: "nbd:127.0.0.1:10809" }, { path: "json:{\"driver\":\"file\"}" }, { path: "disk" }])(
    "qemuDriveFile() refuses the relative path $path, which QEMU could read as a protocol",
    ({ path }) => {
      expect(() => qemuDriveFile(path, field)).toThrow(expect.objectContaining({ code: "CONFIG_INVALID", message: expect.stringContaining("it is not an absolute path") }));
    },
  );
});
