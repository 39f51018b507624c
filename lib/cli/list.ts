// What `den list` / `den ls` does: the rows of the named (default: all) instances, in the asked format. The table and
// JSON are what nearly every run prints, so the yq, Go template and field-name modules are loaded only by the
// options that use them.
import type { CommandUnknownOpts } from "@commander-js/extra-typings";
import { homedir } from "node:os";
import type { HostInfo } from "../config/host-info.ts";
import { DenError } from "../errors.ts";
import { openConfigCache } from "../status/config-cache.ts";
import { inspectInstance } from "../status/inspect.ts";
import { checkInstanceName } from "../store/instance-name.ts";
import { listInstanceNames } from "../store/instance-names.ts";
import { renderInstanceJson, renderInstanceTable } from "../status/list-format.ts";
import { contextFrom } from "./context.ts";
import type { ListOptions } from "./list-command.ts";

/**
 * The rows for which every `--filter` expression holds: as Lima, each is `select(EXPR)` on the row's JSON, and a
 * row is kept when the chain yields anything. The yq engine is loaded only when a filter is given.
 */
export async function filterRows<Row>(rows: readonly Row[], filters: readonly string[]): Promise<Row[]> {
  const { evaluateYqAll } = await import("../yq/evaluate-yq.ts");
  const expr = filters.map((filter) => `select(${filter})`).join(" | ");
  return rows.filter((row) => evaluateYqAll(JSON.parse(JSON.stringify(row)), expr).length > 0);
}

/** What `den list` does (declared in list-command.ts). */
export async function runList(names: string[], options: ListOptions, self: CommandUnknownOpts): Promise<void> {
  const ctx = contextFrom(self);
  if (options.listFields && (options.filter.length > 0 || options.yq.length > 0)) {
    throw new DenError("USAGE", `Cannot combine --list-fields with --${options.filter.length > 0 ? "filter" : "yq"}`, { hint: "--list-fields prints the field names only; drop one of them" });
  }
  if (options.listFields) {
    const { listFieldNames } = await import("../status/instance-info.ts");
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
  if (options.quiet && options.filter.length === 0) {
    ctx.stdout(selected.map((name) => `${name}\n`).join(""));
  } else {
    // Read once for all rows, and only if a row is filled afresh; should that fail, each such row shows the failure.
    let hostInfo: Promise<HostInfo> | undefined;
    const host = () => (hostInfo ??= import("../config/host-info.ts").then((module) => module.readHostInfo()));
    const configCache = openConfigCache(ctx.denHome, ctx.env);
    const inspected = await Promise.all(selected.map((name) => inspectInstance(ctx.denHome, name, { logger: ctx.logger, host, configCache })));
    const rows = options.filter.length === 0 ? inspected : await filterRows(inspected, options.filter);
    if (options.quiet) ctx.stdout(rows.map((row) => `${row.name}\n`).join(""));
    else if (format === "table") ctx.stdout(rows.length > 0 ? renderInstanceTable(rows, { home: ctx.env.HOME ?? homedir() }) : "");
    else if (format === "json") {
      if (options.yq.length === 0) ctx.stdout(renderInstanceJson(rows));
      else {
        const { evaluateYq } = await import("../yq/evaluate-yq.ts");
        // Each --yq applies to what the previous one produced, as repeated yq filters do.
        const values = rows.map((row) => options.yq.reduce<unknown>((value, expr) => evaluateYq(value, expr), row));
        ctx.stdout(values.map((value) => `${typeof value === "string" ? value : JSON.stringify(value)}\n`).join(""));
      }
    } else if (format === "yaml") {
      const { stringify } = await import("yaml");
      ctx.stdout(rows.map((row) => `---\n${stringify(row)}`).join(""));
    } else {
      const [{ expandGoTemplate }, { goTemplateData }] = await Promise.all([import("../gotemplate/expand-go-template.ts"), import("../status/instance-info.ts")]);
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
}
