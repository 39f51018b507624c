import { describe, expect, test } from "bun:test";
import { goTemplateData, InstanceInfoSchema, listFieldNames } from "../../../lib/status/instance-info.ts";

const row = { name: "a", hostname: "den-a", status: "Stopped" as const, dir: "/h/a", sshConfigFile: "/h/a/ssh.config", sshAddress: "127.0.0.1" };

describe("InstanceInfoSchema", () => {
  test("accepts a stopped instance", () => {
    expect(InstanceInfoSchema.safeParse(row).success).toBe(true);
  });
  test("rejects a Broken instance without errors", () => {
    expect(InstanceInfoSchema.safeParse({ ...row, status: "Broken" }).success).toBe(false);
  });
});

test("listFieldNames() are Lima's Go names, sorted", () => {
  expect(listFieldNames().slice(0, 4)).toEqual(["Arch", "CPUs", "Config", "Dir"]);
});

test("goTemplateData() maps Go names and fills zero values", () => {
  const data = goTemplateData(row);
  expect(data.Dir).toBe("/h/a");
  expect(data.CPUs).toBe(0);
  expect((data.Instance as Record<string, unknown>).Name).toBe("a");
});
