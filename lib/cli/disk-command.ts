// The declaration of `den disk create|list|delete|resize|unlock|import` (Lima's `limactl disk`); what each does is in
// disk.ts, loaded when one runs.
import { Command } from "@commander-js/extra-typings";

function declareCreate() {
  return new Command("create")
    .summary("create a disk")
    .argument("<disk>", "disk name")
    .requiredOption("--size <size>", 'disk size, e.g. "10GiB"')
    .option("--format <format>", "disk format: qcow2 or raw", "qcow2");
}

function declareList() {
  return new Command("list").alias("ls").summary("list disks").argument("[disks...]", "only these disks").option("--json", "one JSON object per disk and line");
}

function declareDelete() {
  return new Command("delete")
    .aliases(["remove", "rm"])
    .summary("delete one or more disks")
    .argument("<disks...>", "disk names")
    .option("-f, --force", "delete even a disk that an instance uses or lists");
}

function declareResize() {
  return new Command("resize").summary("grow a disk").argument("<disk>", "disk name").requiredOption("--size <size>", 'new disk size, e.g. "20GiB"');
}

export type DiskCreateOptions = ReturnType<ReturnType<typeof declareCreate>["opts"]>;
export type DiskListOptions = ReturnType<ReturnType<typeof declareList>["opts"]>;
export type DiskDeleteOptions = ReturnType<ReturnType<typeof declareDelete>["opts"]>;
export type DiskResizeOptions = ReturnType<ReturnType<typeof declareResize>["opts"]>;

export function createDiskCommand() {
  const command = new Command("disk")
    .summary("manage disks for additionalDisks")
    .description(
      "Disks live in $DEN_HOME/_disks/NAME and are attached to an instance that lists them in additionalDisks;\n" +
        "the guest formats a new disk and mounts it at /mnt/lima-NAME. A disk serves one instance at a time.\n\n" +
        "Examples:\n  den disk create data --size 10GiB\n  den disk list\n  den disk resize data --size 20GiB\n  den disk delete data",
    );
  command.addCommand(declareCreate().action(async (name, options, self) => (await import("./disk.ts")).runDiskCreate(name, options, self)));
  command.addCommand(declareList().action(async (names, options, self) => (await import("./disk.ts")).runDiskList(names, options, self)));
  command.addCommand(declareDelete().action(async (names, options, self) => (await import("./disk.ts")).runDiskDelete(names, options, self)));
  command.addCommand(
    new Command("unlock")
      .summary("unlock disks a stopped or crashed instance left locked")
      .argument("<disks...>", "disk names")
      .action(async (names, _options, self) => (await import("./disk.ts")).runDiskUnlock(names, self)),
  );
  command.addCommand(declareResize().action(async (name, options, self) => (await import("./disk.ts")).runDiskResize(name, options, self)));
  command.addCommand(
    new Command("import")
      .summary("make a disk from a qcow2 or raw image file")
      .argument("<disk>", "disk name")
      .argument("<file>", "image file to copy")
      .action(async (name, file, _options, self) => (await import("./disk.ts")).runDiskImport(name, file, self)),
  );
  return command;
}
