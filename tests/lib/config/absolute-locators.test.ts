import { expect, test } from "bun:test";
import { useAbsoluteLocators } from "../../../lib/config/absolute-locators.ts";

test.each([
  {
    name: "relative bases against a template name",
    text: "# mine\nbase:\n- template:_images/x\n- ./extra\n",
    locator: "template:experimental/foo",
    want: "# mine\nbase:\n- template:_images/x\n- template:experimental/extra\n",
  },
  {
    name: "a single base and a provision file against a path",
    text: "base: common.yaml\nprovision:\n- mode: system\n  file: scripts/a.sh\n",
    locator: "/t/vm.yaml",
    want: "base: /t/common.yaml\nprovision:\n- mode: system\n  file: /t/scripts/a.sh\n",
  },
  {
    name: "a base given as {url} against a URL",
    text: "base:\n- url: b.yaml\n",
    locator: "https://example.com/t/vm.yaml",
    want: "base:\n- url: https://example.com/t/b.yaml\n",
  },
  {
    name: "a text without references, unchanged",
    text: "cpus:   2 # two\n",
    locator: "/t/vm.yaml",
    want: "cpus:   2 # two\n",
  },
])("useAbsoluteLocators() rewrites $name", ({ text, locator, want }) => {
  expect(useAbsoluteLocators(text, { locator })).toBe(want);
});

test("useAbsoluteLocators() refuses relative bases of stdin", () => {
  expect(() => useAbsoluteLocators("base: x.yaml\n", { locator: "-" })).toThrow("relative locators need a template file");
});
