// YAML text → plain value, keeping the document and line offsets so later stages (schema check,
// cross-field rules) can point at `lima.yaml:12:5` instead of a bare path.
import { type Document, LineCounter, parseDocument, visit } from "yaml";
import { ConfigError, type ConfigIssue } from "../errors.ts";

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

/** Parses one YAML document; a syntax error throws ConfigError("CONFIG_SYNTAX") with file:line:column. */
export function parseConfigText(text: string, options: ParseOptions = {}): ParsedConfig {
  const lineCounter = new LineCounter();
  // `merge` keeps `<<: *anchor` working, which go-yaml (Lima's parser) supports.
  const document = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  const issue = (offset: number, message: string): ConfigIssue => {
    const { line, col } = lineCounter.linePos(offset);
    return { path: [], message, file: options.file, line, column: col };
  };

  const issues = document.errors.map((error) => issue(error.pos[0], syntaxMessage(error.message)));
  visit(document, {
    Alias(_key, node) {
      if (!node.resolve(document)) {
        issues.push(issue(node.range?.[0] ?? 0, `Cannot resolve alias "*${node.source}": no anchor "&${node.source}" before it`));
      }
    },
  });
  if (issues.length > 0) throw new ConfigError("CONFIG_SYNTAX", issues, { hint: SyntaxHint });

  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Only alias expansion can fail here (a "billion laughs" document); report it, do not crash.
    throw new ConfigError("CONFIG_SYNTAX", [issue(0, `Cannot expand YAML aliases: ${(error as Error).message}`)], {
      hint: SyntaxHint,
      cause: error,
    });
  }
  return { value: value ?? null, document, lineCounter };
}

/** yaml's messages, in den's wording: sentence case, no trailing period. */
function syntaxMessage(message: string): string {
  const text = message.replace(/\.$/, "");
  const lower = /^[A-Z][a-z]/.test(text) ? `${text.charAt(0).toLowerCase()}${text.slice(1)}` : text;
  return `Cannot parse YAML: ${lower}`;
}
