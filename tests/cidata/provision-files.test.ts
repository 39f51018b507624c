import { describe, expect, test } from "bun:test";
import type { FilledProvision } from "../../lib/config/schema.ts";
import { provisionEnv, provisionFiles, provisionIndex } from "../../cidata/provision-files.ts";
import { ConfigError } from "../../lib/errors.ts";
import { caughtError } from "../support/caught-den-error.ts";
import { filledConfig, HostileValues } from "./seed-fixture.ts";

const provision = filledConfig({
  provision: [
    { script: "#!/bin/sh\necho system" },
    { mode: "user", script: "echo user" },
    { mode: "boot", script: "echo boot" },
    { mode: "dependency", script: "echo dep", skipDefaultDependencyResolution: true },
    { mode: "data", path: "/etc/motd", content: "hello\n" },
    { mode: "yq", path: "/etc/app.json", expression: '.a = "b"', format: "json", owner: "app:app", permissions: "600" },
    { mode: "ansible", playbook: "site.yml" },
    { mode: "data", path: "/etc/keep", content: "x", overwrite: false, owner: "root:adm", permissions: "640" },
  ],
}).provision;

describe("provisionFiles()", () => {
  test.each([
    { path: "provision.system/00000000", mode: 0o755, text: "#!/bin/sh\necho system" },
    { path: "provision.user/00000001", mode: 0o755, text: "echo user" },
    { path: "provision.dependency/00000003", mode: 0o755, text: "echo dep" },
    { path: "provision.data/00000004", mode: 0o644, text: "hello\n" },
    { path: "provision.yq/00000005", mode: 0o644, text: '.a = "b"' },
    { path: "provision.data/00000007", mode: 0o644, text: "x" },
  ])("provisionFiles() writes $path with mode $mode", (file) => {
    expect(provisionFiles(provision)).toContainEqual(file);
  });

  test("provisionFiles() writes nothing for boot and ansible entries", () => {
    expect(provisionFiles(provision).map((file) => file.path)).toEqual([
      "provision.system/00000000",
      "provision.user/00000001",
      "provision.dependency/00000003",
      "provision.data/00000004",
      "provision.yq/00000005",
      "provision.data/00000007",
    ]);
  });

  test.each(HostileValues)("provisionFiles() keeps data content with $label byte for byte", ({ value }) => {
    const [file] = provisionFiles([{ mode: "data", path: "/x", content: value }]);
    expect(file?.text).toBe(value);
  });

  test.each<{ entry: FilledProvision; path: (string | number)[] }>([
    { entry: { mode: "data", content: "x" }, path: ["provision", 1, "path"] },
    { entry: { mode: "yq", expression: ".a", path: "" }, path: ["provision", 1, "path"] },
  ])("provisionFiles() refuses a $entry.mode entry without a path", ({ entry, path }) => {
    const error = caughtError(() => provisionFiles([{ mode: "system", script: "x" }, entry]), ConfigError);
    expect(error.issues.map((issue) => issue.path)).toEqual([path]);
  });
});

describe("provisionEnv()", () => {
  test("provisionEnv() describes data and yq entries by their index", () => {
    expect(provisionEnv(provision)).toEqual([
      ["DATAFILE_00000004_PATH", "/etc/motd"],
      ["DATAFILE_00000004_OWNER", "root:root"],
      ["DATAFILE_00000004_PERMISSIONS", "644"],
      ["DATAFILE_00000004_OVERWRITE", "1"],
      ["YQ_PROVISION_00000005_PATH", "/etc/app.json"],
      ["YQ_PROVISION_00000005_OWNER", "app:app"],
      ["YQ_PROVISION_00000005_PERMISSIONS", "600"],
      ["YQ_PROVISION_00000005_FORMAT", "json"],
      ["DATAFILE_00000007_PATH", "/etc/keep"],
      ["DATAFILE_00000007_OWNER", "root:adm"],
      ["DATAFILE_00000007_PERMISSIONS", "640"],
      ["DATAFILE_00000007_OVERWRITE", ""],
    ]);
  });

  test("provisionEnv() falls back to the defaults for an entry built by hand", () => {
    expect(provisionEnv([{ mode: "yq", path: "/a", expression: ".x" }])).toEqual([
      ["YQ_PROVISION_00000000_PATH", "/a"],
      ["YQ_PROVISION_00000000_OWNER", "root:root"],
      ["YQ_PROVISION_00000000_PERMISSIONS", "644"],
      ["YQ_PROVISION_00000000_FORMAT", "auto"],
    ]);
  });

  test.each([
    { index: 0, want: "00000000" },
    { index: 7, want: "00000007" },
    { index: 12345678, want: "12345678" },
  ])("provisionIndex() writes $index as $want", ({ index, want }) => {
    expect(provisionIndex(index)).toBe(want);
  });
});
