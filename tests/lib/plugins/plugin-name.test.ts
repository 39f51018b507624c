import { expect, test } from "bun:test";
import { isPluginName } from "../../../lib/plugins/plugin-name.ts";

test.each([
  { name: "hello", ok: true },
  { name: "url-fedora-rawhide", ok: true },
  { name: "my_tool.v2", ok: true },
  { name: "", ok: false },
  { name: "a/b", ok: false },
  { name: "../x", ok: false },
  { name: "a..b", ok: false },
  { name: "..", ok: false },
  { name: "-x", ok: false },
  { name: ".hidden", ok: false },
  { name: "a\\b", ok: false },
  { name: "sp ace", ok: false },
  { name: "x".repeat(65), ok: false },
])("isPluginName() says $ok for \"$name\"", ({ name, ok }) => {
  expect(isPluginName(name)).toBe(ok);
});
