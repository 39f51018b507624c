// `den-guestagent yq`: the guest side of `provision: mode: yq`. boot.sh runs it as root for each provision.yq/<index>
// entry, the way Lima's boot.sh runs `lima-guestagent yq --inplace --from-file F --input-format X --output-format X`.
// It evaluates den's yq subset (lib/yq/evaluate-yq.ts, the same engine as `--set`) against the file and writes the result
// back atomically; a missing file is created from null input, as Lima does with `yq --null-input`.
//
//   den-guestagent yq (--expression-file FILE | --expression EXPR) [--format FORMAT] [--in-place] PATH
//
// Without --in-place the result goes to stdout and PATH is only read, which is handy when debugging in the guest.
// Formats: yaml (comments, key order and the file's sequence indentation kept) and json (two-space indent, as yq
// prints it). `auto` picks by extension: .json is json, .yaml/.yml yaml, any other name yaml (a new file with an
// unknown extension gets a warning, as in Lima). csv, tsv, ini, props/properties, toml and xml, which Lima's yq
// also reads, fail with an error naming the format: den's yq engine has no codec for them.
// Exit codes: 0 done, 1 the expression, the file or the write failed, 2 bad command line.
import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, open, readFile, realpath, rename, rm, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { basename, dirname, extname, join } from "node:path";
import { type Document, isPair, isScalar, isSeq, type LineCounter, parseAllDocuments, visit } from "yaml";
import { parseConfigText } from "../lib/config/parse.ts";
import { evaluateYqAll } from "../lib/yq/evaluate-yq.ts";
import { reconcileDocument } from "../lib/yq/reconcile-document.ts";
import { DenError, renderError } from "../lib/errors.ts";

export interface YqCommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

type FileFormat = "yaml" | "json";

interface YqCommandOptions {
  expression: { text: string } | { file: string };
  /** As given: auto, or a format name or alias. */
  format: string;
  inPlace: boolean;
  path: string;
}

const usage = "den-guestagent yq (--expression-file FILE | --expression EXPR) [--format auto|yaml|json] [--in-place] PATH";
const usageHint = `usage: ${usage}`;

const formatAliases: Readonly<Record<string, FileFormat>> = { yaml: "yaml", yml: "yaml", y: "yaml", json: "json", j: "json" };
/** Formats Lima's yq accepts (and the template schema allows) that den's engine cannot read or write. */
const unsupportedFormats = new Set(["csv", "c", "tsv", "t", "ini", "i", "props", "p", "properties", "toml", "xml", "x"]);
/** Extensions `auto` maps to a format, after Lima's boot.sh and yq's own detection. */
const extensionFormats: Readonly<Record<string, string>> = {
  ".yaml": "yaml",
  ".yml": "yaml",
  ".json": "json",
  ".csv": "csv",
  ".tsv": "tsv",
  ".ini": "ini",
  ".properties": "properties",
  ".toml": "toml",
  ".xml": "xml",
};

const defaultIo: YqCommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs `den-guestagent yq ARGS` (ARGS without the `yq` word) and returns the exit code; never throws. */
export async function runYqCommand(args: string[], io: YqCommandIo = defaultIo): Promise<number> {
  let options: YqCommandOptions;
  try {
    options = parseArgs(args);
  } catch (error) {
    io.stderr(`${renderError(error)}\n`);
    return 2;
  }
  try {
    const expression = await readExpression(options.expression);
    const existing = await statIfExists(options.path);
    if (existing && !existing.isFile()) {
      throw new DenError("IO", `Cannot apply yq to "${options.path}": it is not a regular file`, { hint: "give the path of a file, or of one to create" });
    }
    const format = resolveFormat(options.format, options.path);
    if (format.guessed && !existing) {
      io.stderr(`WARNING Cannot determine the format of "${options.path}" from its name, using yaml\n`);
    }
    const input = existing ? await readTarget(options.path) : undefined;
    const output = applyExpression(input, { expression, format: format.name, file: options.path });
    if (options.inPlace) await writeAtomically(options.path, { text: output, existing });
    else io.stdout(output);
    return 0;
  } catch (error) {
    io.stderr(`${renderError(error)}\n`);
    return 1;
  }
}

function parseArgs(args: readonly string[]): YqCommandOptions {
  let expressionText: string | undefined;
  let expressionFile: string | undefined;
  let format = "auto";
  let inPlace = false;
  const paths: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const [flag, inlineValue] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string => {
      if (inlineValue !== undefined) return inlineValue;
      const next = args[++i];
      if (next === undefined) throw new DenError("USAGE", `Cannot parse arguments: ${flag} needs a value`, { hint: usageHint });
      return next;
    };
    if (flag === "--expression-file" || flag === "--from-file") expressionFile = value();
    else if (flag === "--expression") expressionText = value();
    else if (flag === "--format") format = value();
    else if (flag === "--in-place" || flag === "--inplace" || flag === "-i") inPlace = true;
    else if (flag === "--") {
      paths.push(...args.slice(i + 1));
      break;
    } else if (flag.startsWith("-") && flag !== "-") throw new DenError("USAGE", `Cannot parse arguments: unknown flag "${flag}"`, { hint: usageHint });
    else paths.push(arg);
  }
  if ((expressionText === undefined) === (expressionFile === undefined)) {
    throw new DenError("USAGE", "Cannot parse arguments: give exactly one of --expression-file and --expression", { hint: usageHint });
  }
  if (paths.length !== 1) {
    throw new DenError("USAGE", `Cannot parse arguments: expected one file path, got ${paths.length}`, { hint: usageHint });
  }
  const known = format === "auto" || Object.hasOwn(formatAliases, format) || unsupportedFormats.has(format);
  if (!known) {
    throw new DenError("USAGE", `Cannot parse arguments: unknown format "${format}"`, { hint: "use auto, yaml or json (the formats Lima's yq provisioning names)" });
  }
  return {
    expression: expressionFile === undefined ? { text: expressionText as string } : { file: expressionFile },
    format,
    inPlace,
    path: paths[0] as string,
  };
}

async function readExpression(source: YqCommandOptions["expression"]): Promise<string> {
  if ("text" in source) return source.text;
  try {
    return await readFile(source.file, "utf8");
  } catch (error) {
    throw new DenError("IO", `Cannot read yq expression file "${source.file}": ${(error as Error).message}`, {
      hint: "boot.sh passes the seed's provision.yq/<index> file; check that the seed is mounted",
      cause: error,
    });
  }
}

/** The format to read and write; `guessed` when `auto` found no known extension and fell back to yaml. */
function resolveFormat(format: string, path: string): { name: FileFormat; guessed: boolean } {
  const byName = format === "auto" ? extensionFormats[extname(path).toLowerCase()] : format;
  if (byName === undefined) return { name: "yaml", guessed: true };
  const supported = formatAliases[byName];
  if (supported) return { name: supported, guessed: false };
  throw new DenError("YQ_EXPR", `Cannot apply yq to "${path}": format "${byName}" is not supported by den`, {
    hint: "den's yq provisioning reads and writes yaml and json; write other formats with a data or system provision entry",
  });
}

/** The file's new text: the expression applied to `input` (undefined = the file does not exist yet, null input). */
function applyExpression(input: string | undefined, options: { expression: string; format: FileFormat; file: string }): string {
  return options.format === "json" ? applyToJson(input, options) : applyToYaml(input, options);
}

function applyToJson(input: string | undefined, options: { expression: string; file: string }): string {
  let value: unknown = null;
  if (input !== undefined && input.trim() !== "") {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new DenError("CONFIG_SYNTAX", `Cannot parse JSON in "${options.file}": ${(error as Error).message}`, {
        hint: "fix the file, or set format: yaml in the provision entry if it is YAML",
        cause: error,
      });
    }
  }
  const result = single(evaluateYqAll(value, options.expression), options.expression);
  return `${JSON.stringify(result, null, 2)}\n`;
}

function applyToYaml(input: string | undefined, options: { expression: string; file: string }): string {
  const documents = input === undefined ? [] : parseAllDocuments(input);
  if (Array.isArray(documents) && documents.length > 1) {
    throw new DenError("YQ_EXPR", `Cannot apply yq to "${options.file}": it holds ${documents.length} YAML documents`, {
      hint: "den's yq provisioning edits files with one document; split the file or write it with a data provision entry",
    });
  }
  const { document, value, lineCounter } = parseConfigText(input ?? "", { file: options.file });
  const result = single(evaluateYqAll(value, options.expression), options.expression);
  const updated = reconcileDocument(document, { before: value, after: result });
  return updated.toString({ lineWidth: 0, indentSeq: sequencesIndented(document, lineCounter) ?? true });
}

function single(results: unknown[], expression: string): unknown {
  if (results.length !== 1) {
    throw new DenError("YQ_EXPR", `Cannot apply yq expression "${expression.trim()}": it yields ${results.length} documents instead of one`, {
      hint: "a provisioning expression must produce the whole document, e.g. `.a = 1` rather than `.a`",
    });
  }
  return results[0];
}

/**
 * Whether the file writes block sequences under a map key indented (`key:\n  - x`, yq's style) or flush
 * (`key:\n- x`); undefined when it has none. The whole document is re-rendered, so without this every list in
 * a flush-style file would move.
 */
function sequencesIndented(document: Document, lineCounter: LineCounter): boolean | undefined {
  let indented: boolean | undefined;
  visit(document, {
    Pair(_key, pair) {
      if (!isPair(pair) || !isScalar(pair.key) || !isSeq(pair.value) || pair.value.flow) return undefined;
      const keyStart = pair.key.range?.[0];
      const seqStart = pair.value.range?.[0];
      if (keyStart === undefined || seqStart === undefined) return undefined;
      const key = lineCounter.linePos(keyStart);
      const seq = lineCounter.linePos(seqStart);
      if (seq.line === key.line) return undefined;
      indented = seq.col > key.col;
      return visit.BREAK;
    },
  });
  return indented;
}

async function statIfExists(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new DenError("IO", `Cannot read "${path}": ${(error as Error).message}`, { hint: "check that every folder on the path can be searched", cause: error });
  }
}

async function readTarget(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new DenError("IO", `Cannot read "${path}": ${(error as Error).message}`, { hint: "boot.sh runs den-guestagent yq as root; check the file's permissions", cause: error });
  }
}

/**
 * Replaces the file through a temp file in the same directory and a rename, so a crash leaves the old or the new
 * content and never half of it. An existing file keeps its mode and owner (Lima relies on yq doing so); a
 * symlink is followed and its target replaced. A new file gets its missing parent directories.
 */
async function writeAtomically(path: string, options: { text: string; existing: Stats | undefined }): Promise<void> {
  const { text, existing } = options;
  const target = existing ? await realpath(path) : path;
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.den-yq-${randomBytes(6).toString("hex")}`);
  try {
    if (!existing) await mkdir(dir, { recursive: true });
    const handle = await open(tmp, "wx", existing ? existing.mode & 0o7777 : 0o644);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (existing) {
      // open()'s mode passes through the umask; the original's bits must survive exactly.
      await chmod(tmp, existing.mode & 0o7777);
      if (existing.uid !== process.getuid?.() || existing.gid !== process.getgid?.()) await chown(tmp, existing.uid, existing.gid);
    }
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { force: true });
    throw new DenError("IO", `Cannot write "${path}": ${(error as Error).message}`, {
      hint: "boot.sh runs den-guestagent yq as root; check the directory exists and is writable",
      cause: error,
    });
  }
}
