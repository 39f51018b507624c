// The declaration of `den snapshot create|apply|delete|list INSTANCE` (Lima's names and aliases); what they do is in
// snapshot.ts, loaded when one runs.
import { Command } from "@commander-js/extra-typings";

/** The subcommands that take `--tag`, with Lima's aliases and summaries. */
const TaggedActions = [
  { action: "create", alias: "save", summary: "create (save) a snapshot" },
  { action: "apply", alias: "load", summary: "apply (load) a snapshot" },
  { action: "delete", alias: "del", summary: "delete (del) a snapshot" },
] as const;

function declareTagged(entry: (typeof TaggedActions)[number]) {
  return new Command(entry.action)
    .alias(entry.alias)
    .summary(entry.summary)
    .argument("<instance>", "instance name")
    .option("--tag <tag>", "name of the snapshot");
}

function declareList() {
  return new Command("list").alias("ls").summary("list the snapshots of an instance").argument("<instance>", "instance name").option("-q, --quiet", "print only the tags");
}

export type SnapshotTagOptions = ReturnType<ReturnType<typeof declareTagged>["opts"]>;
export type SnapshotListOptions = ReturnType<ReturnType<typeof declareList>["opts"]>;

export function createSnapshotCommand() {
  const command = new Command("snapshot")
    .summary("create, apply, delete and list snapshots of an instance")
    .description(
      "Manage the snapshots of an instance (vmType: qemu). A running instance is snapshotted with its memory (the guest " +
        "pauses while it is saved) and a stopped one on its disk alone, as limactl snapshot does.",
    );
  for (const entry of TaggedActions) {
    command.addCommand(declareTagged(entry).action(async (name, options, self) => (await import("./snapshot.ts")).runSnapshot(entry.action, name, options, self)));
  }
  command.addCommand(declareList().action(async (name, options, self) => (await import("./snapshot.ts")).runSnapshotList(name, options, self)));
  return command;
}
