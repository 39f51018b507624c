import { describe, expect, test } from "bun:test";
import { denHome, isInstanceFolderName } from "../../../lib/store/dirs.ts";

describe("denHome()", () => {
  test.each([
    { env: { DEN_HOME: "/srv/den" }, want: "/srv/den" },
    { env: { DEN_HOME: "/srv/den/../x" }, want: "/srv/x" },
    { env: { HOME: "/home/ann" }, want: "/home/ann/.den" },
    { env: { DEN_HOME: "", HOME: "/home/bo" }, want: "/home/bo/.den" },
  ])("is $want for $env", ({ env, want }) => {
    expect(denHome(env)).toBe(want);
  });
});

describe("isInstanceFolderName()", () => {
  test.each([
    { name: "default", want: true },
    { name: "_config", want: false },
    { name: ".tmp-create-x", want: false },
    { name: "my-vm.2", want: true },
  ])("$name is an instance folder: $want", ({ name, want }) => {
    expect(isInstanceFolderName(name)).toBe(want);
  });
});
