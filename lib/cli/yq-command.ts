// The declaration of `den yq [flags] [eval] EXPR [FILE...]` (Lima's `limactl yq`); what it does is in yq.ts,
// loaded when it runs.
import { Command, Option } from "@commander-js/extra-typings";

function declareYq() {
  return new Command("yq")
    .summary("evaluate a yq expression on YAML or JSON files or stdin")
    .description(
      "Evaluate EXPR with den's yq engine (the one --set uses) on each FILE, or on stdin when none or \"-\" is given.\n" +
        "yq's default subcommand may be written out: den yq eval '.a' f.yaml. See README for the supported subset.\n" +
        "Examples: den yq '.images[].location' den.yaml;  den yq -i '.cpus = 4' den.yaml;  den yq -n '.foo = 42'",
    )
    .argument("<expr>", "yq expression")
    .argument("[files...]", 'YAML or JSON files ("-" for stdin)')
    .option("-i, --inplace", "update the files in place (comments and key order stay)")
    .option("-n, --null-input", "read no input: evaluate EXPR on null")
    .addOption(new Option("-o, --output-format <format>", "yaml or json (y, j)").choices(["yaml", "y", "json", "j"] as const).default("yaml" as const))
    .option("-I, --indent <n>", "spaces per indentation level", "2")
    .option("-P, --prettyPrint", "accepted for yq compatibility: den always prints block YAML");
}

export type YqOptions = ReturnType<ReturnType<typeof declareYq>["opts"]>;

export function createYqCommand() {
  return declareYq().action(async (expr, files, options, self) => (await import("./yq.ts")).runYq(expr, files, options, self));
}
