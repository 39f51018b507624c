// `den list` / `den ls`
import { Command, Option } from "@commander-js/extra-typings";
import { homedir } from "node:os";
import { expandGoTemplate } from "../gotemplate/expand-go-template.ts";
import { evaluateYq } from "../yq/evaluate-yq.ts";
import { DenError } from "../errors.ts";
import { goTemplateData, listFieldNames } from "../status/instance-info.ts";
import { inspectInstance } from "../status/inspect.ts";
import { checkInstanceName } from "../store/instance-name.ts";
import { listInstanceNames } from "../store/instance-names.ts";
import { renderInstanceJson, renderInstanceTable } from "../status/list-format.ts";
import { contextFrom } from "./context.ts";

export function createListCommand() {
  const command = new Command("list")
    .alias("ls")
    .summary("list instances")
    .argument("[instances...]", "instance names (default: all)")
    .addOption(new Option("-f, --format <format>", "json, yaml, table, or a Go template such as '{{.Name}} {{.Dir}}'").default("table"))
    .option("--json", "same as --format json")
    .option("-q, --quiet", "print instance names only")
    .option("--list-fields", "print the field names a --format template can use")
    .option("--yq <expr>", "apply a yq expression to each instance (implies --format json)", collect, [] as string[])
    .action(async (names, options, self) => {
      const ctx = contextFrom(self);
      if (options.listFields) {
        ctx.stdout(`${listFieldNames().join("\n")}\n`);
        return;
      }
      const format = options.json || options.yq.length > 0 ? "json" : options.format;
      if (options.quiet && format !== "table") {
        throw new DenError("USAGE", "Cannot combine --quiet with --format other than table", { hint: "drop --quiet or --format" });
      }
      // A name that cannot be an instance is an error, not "no match": it is echoed escaped, never raw.
      for (const name of names) checkInstanceName(name);
      const all = await listInstanceNames(ctx.denHome);
      if (all.length === 0) {
        ctx.logger.warn('No instance found. Run "den create" to create an instance.');
        return;
      }
      const unmatched = names.filter((name) => !all.includes(name));
      const selected = names.length > 0 ? names.filter((name) => all.includes(name)) : all;
      if (options.quiet) {
        ctx.stdout(selected.map((name) => `${name}\n`).join(""));
      } else {
        const rows = await Promise.all(selected.map((name) => inspectInstance(ctx.denHome, name, { logger: ctx.logger })));
        if (format === "table") ctx.stdout(selected.length > 0 ? renderInstanceTable(rows, { home: ctx.env.HOME ?? homedir() }) : "");
        else if (format === "json") {
          if (options.yq.length === 0) ctx.stdout(renderInstanceJson(rows));
          else {
            // Each --yq applies to what the previous one produced, as repeated yq filters do.
            const values = rows.map((row) => options.yq.reduce<unknown>((value, expr) => evaluateYq(value, expr), row));
            ctx.stdout(values.map((value) => `${typeof value === "string" ? value : JSON.stringify(value)}\n`).join(""));
          }
        } else if (format === "yaml") {
          const { stringify } = await import("yaml");
          ctx.stdout(rows.map((row) => `---\n${stringify(row)}`).join(""));
        } else {
          for (const row of rows) ctx.stdout(`${expandGoTemplate(format, goTemplateData(row))}\n`);
        }
      }
      // Lima warns per name and ends with "unmatched instances"; one error naming them, with a hint, says the same.
      if (unmatched.length > 0) {
        const quoted = unmatched.map((name) => `"${name}"`).join(", ");
        throw new DenError("INSTANCE_NOT_FOUND", `Cannot find ${unmatched.length === 1 ? "instance" : "instances"} ${quoted}`, {
          hint: 'run "den list" without names to see every instance',
        });
      }
    });
  return command;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
