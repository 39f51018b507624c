// The declaration of `den list` / `den ls`: what help and completion show. What it does is in list.ts, loaded when it runs.
import { Command, Option } from "@commander-js/extra-typings";

function declareList() {
  return new Command("list")
    .alias("ls")
    .summary("list instances")
    .argument("[instances...]", "instance names (default: all)")
    .addOption(new Option("-f, --format <format>", "json, yaml, table, or a Go template such as '{{.Name}} {{.Dir}}'").default("table"))
    .option("--json", "same as --format json")
    .option("-q, --quiet", "print instance names only")
    .option("--list-fields", "print the field names a --format template can use")
    .option("--yq <expr>", "apply a yq expression to each instance (implies --format json)", collect, [] as string[])
    .option("-l, --filter <expr>", "only instances for which this yq expression holds, e.g. '.status == \"Running\"' (repeatable: all must hold)", collect, [] as string[])
    .option("--all-fields", "show every column (den never hides one; accepted as Lima has it)");
}

export type ListOptions = ReturnType<ReturnType<typeof declareList>["opts"]>;

export function createListCommand() {
  return declareList().action(async (names, options, self) => (await import("./list.ts")).runList(names, options, self));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
