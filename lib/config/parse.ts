// YAML text → plain value, keeping the document and line offsets so later stages (schema check,
// cross-field rules) can point at `lima.yaml:12:5` instead of a bare path.
import { CST, type Document, isAlias, isCollection, isMap, isPair, isScalar, Lexer, LineCounter, parseDocument } from "yaml";
import { ConfigError, type ConfigIssue, excerpt } from "../errors.ts";

export interface ParsedConfig {
  /** The plain JavaScript value (`null` for an empty file). */
  value: unknown;
  document: Document;
  lineCounter: LineCounter;
}

export interface ParseOptions {
  /** File name used in messages. */
  file?: string;
}

const SyntaxHint = "fix the YAML syntax at the position shown";

/**
 * Options every parse of user YAML in den passes to the yaml library. `logLevel: "error"` stops it from calling
 * process.emitWarning (a `(node:…) Warning:` line that quotes the input, e.g. for a map key that is a list);
 * what it would warn about is reported by den's own checks instead. Use these wherever yaml parses input.
 */
export const QuietYamlOptions = { logLevel: "error" } as const;

/**
 * How a filled configuration is printed (`validate --fill`, `template show --fill`): no folding of long lines, and no
 * `&anchor`/`*alias` for objects that happen to be shared in memory, which Lima's output never has; not looking for
 * them also saves a quarter of the time on a template with 40,000 port forwards.
 */
export const FilledYamlOptions = { lineWidth: 0, aliasDuplicateObjects: false } as const;

/**
 * What YAML 1.2 allows in a stream (c-printable); go-yaml, Lima's parser, refuses the rest as "control
 * characters are not allowed". U+FFFD is what reading invalid UTF-8 as text leaves behind.
 */
const NotYamlText = /[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffc\u{10000}-\u{10ffff}]/u;

/** Parses one YAML document; a syntax error throws ConfigError("CONFIG_SYNTAX") with file:line:column. */
export function parseConfigText(text: string, options: ParseOptions = {}): ParsedConfig {
  const lineCounter = new LineCounter();
  // Checked first: a binary file is one error at its first bad byte, not a screenful of parse errors quoting it.
  const bad = NotYamlText.exec(text);
  if (bad) {
    const { line, col } = positionOf(text, bad.index);
    const message = bad[0] === "\ufffd" ? "Cannot parse YAML: the text is not valid UTF-8" : `Cannot parse YAML: control character "${excerpt(bad[0])}" is not allowed`;
    throw new ConfigError("CONFIG_SYNTAX", [{ path: [], message, file: options.file, line, column: col }], {
      hint: "den reads YAML text; check that the file is the template you meant (a binary file cannot be one)",
    });
  }
  const tooDeep = flowDepthOffset(text, MaxFlowDepth);
  if (tooDeep !== undefined) {
    const { line, col } = positionOf(text, tooDeep);
    throw new ConfigError("CONFIG_SYNTAX", [{ path: [], message: `Cannot parse YAML: flow collections ([…] and {…}) are nested more than ${MaxFlowDepth} levels deep`, file: options.file, line, column: col }], {
      hint: "a template nests a few levels; check that the file is the template you meant",
    });
  }
  // `merge` keeps `<<: *anchor` working, which go-yaml (Lima's parser) supports.
  // `prettyErrors: false` keeps yaml's code frame (a copy of the offending source lines) out of the messages.
  // `uniqueKeys: false`: the library compares each key with every earlier one of its map (40,000 env keys took
  // ten seconds); keyIssues finds duplicates in one pass instead.
  const document = parseDocument(text, { ...QuietYamlOptions, lineCounter, prettyErrors: false, merge: true, uniqueKeys: false });
  const issue = (offset: number, message: string): ConfigIssue => {
    const { line, col } = lineCounter.linePos(offset);
    return { path: [], message, file: options.file, line, column: col };
  };

  const issues = document.errors.map((error) => issue(error.pos[0], syntaxMessage(error.message)));
  for (const found of keyAndAliasIssues(document)) issues.push(issue(found.offset, found.message));
  if (issues.length > 0) throw new ConfigError("CONFIG_SYNTAX", issues, { hint: SyntaxHint });

  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Only alias expansion can fail here (a "billion laughs" document); report it, do not crash.
    throw new ConfigError("CONFIG_SYNTAX", [issue(0, `Cannot expand YAML aliases: ${excerpt((error as Error).message, 120)}`)], {
      hint: SyntaxHint,
      cause: error,
    });
  }
  return { value: value ?? null, document, lineCounter };
}

/**
 * Duplicate keys (go-yaml, Lima's parser, refuses them) and aliases with no anchor before them, in one walk in
 * document order. Linear: yaml's own checks compare each key with all earlier keys of its map and look up each
 * alias by walking the whole document again.
 */
function keyAndAliasIssues(document: Document): { offset: number; message: string }[] {
  const found: { offset: number; message: string }[] = [];
  const anchors = new Set<string>();
  const stack: unknown[] = [document.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isAlias(node)) {
      if (!anchors.has(node.source)) {
        const name = excerpt(node.source, 40);
        found.push({ offset: node.range?.[0] ?? 0, message: `Cannot resolve alias "*${name}": no anchor "&${name}" before it` });
      }
      continue;
    }
    if (isPair(node)) {
      stack.push(node.value, node.key);
      continue;
    }
    if (!isScalar(node) && !isCollection(node)) continue;
    // An anchor counts from its node on, so an alias inside the anchored collection finds it, as in yaml.
    if (node.anchor) anchors.add(node.anchor);
    if (!isCollection(node)) continue;
    if (isMap(node)) {
      // The library's rule: keys are equal when they are the same node or scalars of the same value.
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue;
        if (seen.has(pair.key.value)) found.push({ offset: pair.key.range?.[0] ?? 0, message: "Cannot parse YAML: map keys must be unique" });
        seen.add(pair.key.value);
      }
    }
    for (let index = node.items.length - 1; index >= 0; index--) stack.push(node.items[index]);
  }
  return found.sort((a, b) => a.offset - b.offset);
}

/**
 * How deep `[…]` and `{…}` may nest. The yaml library's composer and den's checks recurse per level: 100,000
 * levels in 200 KB took a minute and 4.8 GB, so the depth is checked before the library parses. Lima's templates
 * nest a few levels.
 */
export const MaxFlowDepth = 1000;

/** Tokens the yaml Lexer emits that are not source text (document start, flow end, scalar marker). */
const LexerMarkers = new Set([CST.DOCUMENT, CST.FLOW_END, CST.SCALAR]);

/**
 * Offset of the first flow-collection opener nested deeper than `max`, or undefined. Linear: a count of the
 * brackets first (fewer openers than `max` cannot nest deeper), then only if needed the yaml Lexer, which knows
 * quoted scalars, block scalars and comments, so a bracket inside a string or a script does not count.
 */
export function flowDepthOffset(text: string, max: number): number | undefined {
  let openers = 0;
  for (let index = 0; index < text.length && openers <= max; index++) {
    const code = text.charCodeAt(index);
    if (code === 0x5b || code === 0x7b) openers++;
  }
  if (openers <= max) return undefined;
  let depth = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token);
    if (type === "flow-seq-start" || type === "flow-map-start") {
      depth++;
      if (depth > max) return offset;
    } else if ((type === "flow-seq-end" || type === "flow-map-end") && depth > 0) {
      depth--;
    }
    if (!LexerMarkers.has(token)) offset += token.length;
  }
  return undefined;
}

/** 1-based line and column of an offset (a LineCounter is only filled by parsing). */
function positionOf(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, col: offset - lineStart + 1 };
}

/** yaml's messages, in den's wording: sentence case, no trailing period. Some quote the input: the token yaml
 *  did not expect is dropped (the position says where it is), the rest (a tag, an escape) is cut to an excerpt. */
function syntaxMessage(message: string): string {
  // The composer recurses per block level; thousands of nested `- - -` overflow the stack.
  if (/maximum call stack size exceeded/i.test(message)) return "Cannot parse YAML: the document is nested too deeply";
  const text = excerpt(message.replace(/: ".*$/s, "").replace(/\.$/, ""), 100);
  const lower = /^[A-Z][a-z]/.test(text) ? `${text.charAt(0).toLowerCase()}${text.slice(1)}` : text;
  return `Cannot parse YAML: ${lower}`;
}
