import { expect, test } from "bun:test";
import { createDiskCommand } from "../../../lib/cli/disk-command.ts";

const disk = createDiskCommand();
const sub = (name: string) => disk.commands.find((command) => command.name() === name);

interface Row {
  name: string;
  aliases: string[];
  args: string[];
  required: string[];
  flags: string[];
}

test.each<Row>([
  { name: "create", aliases: [], args: ["disk"], required: ["--size"], flags: ["--size", "--format"] },
  { name: "list", aliases: ["ls"], args: ["disks"], required: [], flags: ["--json"] },
  { name: "delete", aliases: ["remove", "rm"], args: ["disks"], required: [], flags: ["--force"] },
  { name: "unlock", aliases: [], args: ["disks"], required: [], flags: [] },
  { name: "resize", aliases: [], args: ["disk"], required: ["--size"], flags: ["--size"] },
  { name: "import", aliases: [], args: ["disk", "file"], required: [], flags: [] },
])("den disk $name has Lima's aliases, arguments and flags", ({ name, aliases, args, required, flags }) => {
  const command = sub(name);
  expect(command?.aliases()).toEqual(aliases);
  expect(command?.registeredArguments.map((arg) => arg.name())).toEqual(args);
  expect(command?.options.map((option) => option.long)).toEqual(flags);
  expect(command?.options.filter((option) => option.mandatory).map((option) => option.long)).toEqual(required);
});

test("den disk create defaults --format to qcow2, as Lima does", () => {
  expect(sub("create")?.options.find((option) => option.long === "--format")?.defaultValue).toBe("qcow2");
});

test("den disk delete takes -f for --force", () => {
  expect(sub("delete")?.options.find((option) => option.long === "--force")?.short).toBe("-f");
});
