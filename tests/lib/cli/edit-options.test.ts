import { expect, test } from "bun:test";
import { Command } from "@commander-js/extra-typings";
import { editFlagsFrom } from "../../../lib/cli/edit-flags-from.ts";
import { addEditOptions } from "../../../lib/cli/edit-options.ts";
import type { EditFlags } from "../../../lib/config/edit-flags.ts";

function parse(args: readonly string[]) {
  const command = addEditOptions(new Command("x").option("--name <name>").exitOverride());
  command.parse([...args], { from: "user" });
  return editFlagsFrom(command.opts());
}

const rows: { name: string; args: string[]; want: EditFlags }[] = [
  { name: "no flags", args: [], want: { mount: [], portForward: [], param: [], dns: [], set: [], network: [] } },
  {
    name: "values, switches and repeated flags, dropping other options",
    args: ["--name", "n", "--cpus", "2", "--mount", "/a", "--mount", "/b:w", "--plain", "--set", ".a = 1", "--nested-virt"],
    want: { cpus: "2", mount: ["/a", "/b:w"], plain: true, set: [".a = 1"], nestedVirt: true, portForward: [], param: [], dns: [], network: [] },
  },
];

test.each(rows)("addEditOptions() and editFlagsFrom() read $name", ({ args, want }) => {
  expect(parse(args)).toEqual(want);
});
