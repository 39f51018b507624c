import { expect, test } from "bun:test";
import { faultTable } from "./fault-table.ts";

test("faultTable() pads columns and escapes pipes in states", () => {
  expect(faultTable([{ fault: "kill -9 QEMU", state: "Broken: a|b", diskIntact: true, leaked: 0, silent: false }])).toBe(
    [
      "| fault        | state reached | disk intact | processes leaked | silent |",
      "|--------------|---------------|-------------|------------------|--------|",
      "| kill -9 QEMU | Broken: a\\|b  | yes         | 0                | no     |",
    ].join("\n"),
  );
});
