// Go text/template, the subset Lima's YAML fields use (mount locations, provision scripts, `message`,
// `list --format`). Hand-written because no npm library evaluates Go templates properly: the ones that
// exist are Handlebars-like look-alikes that differ on whitespace trimming, truthiness, pipelines with a
// final argument and map-key errors, and those differences change what ends up in a guest.
//
// Supported: text; actions `{{ … }}` with `{{- ` / ` -}}` trimming; comments `{{/* … */}}`; fields
// `.A.B`, `.`, `$`, `$x.A`, `(pipeline).A`; string ("…", `…`), char, number, bool and nil literals;
// pipelines with `|`; variables `$x := …` and `$x = …`; `if`/`else if`/`else`/`end`, `range` (lists,
// maps in key order, integers; `$i, $e :=`; `else`; `break`, `continue`), `with`/`else with`; functions
// `and or not eq ne lt le gt ge len index print println printf` plus Lima's `json yaml indent missing`.
// Left out: `define`, `template`, `block`, methods, `call`, `slice`, `html`, `js`, `urlquery`.
import { stringify as stringifyYaml } from "yaml";
import { DenError } from "../errors.ts";
import { closestMatch, editDistance } from "./closest-match.ts";

/** What a field access on a map without that key does (Go's `Option("missingkey=…")`). */
export type MissingKeyMode = "error" | "zero" | "default";

export interface GoTemplateOptions {
  /**
   * `error` (default, as Lima's config fields): fail naming the key. `zero`: the key reads as empty,
   * like Go's zero value for Lima's string maps (`.Param`). `default`: Go's default, `<no value>`.
   */
  missingKey?: MissingKeyMode;
  /** Where the template came from, e.g. `mounts[0].location`, used in messages. */
  name?: string;
}

/** A "did you mean" only for a slip of a letter or two: short field names are otherwise all "close". */
function suggest(word: string, candidates: readonly string[]): string | undefined {
  const guess = closestMatch(word, candidates);
  if (guess === undefined) return undefined;
  const close = guess.toLowerCase() === word.toLowerCase() || editDistance(word, guess) <= Math.max(1, Math.floor(word.length / 4));
  return close ? guess : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Lexing: the text splits into text runs and actions; each action into tokens.

type Token =
  | { t: "field"; name: string; pos: number; spaced: boolean }
  | { t: "dot"; pos: number; spaced: boolean }
  | { t: "var"; name: string; pos: number; spaced: boolean }
  | { t: "ident"; name: string; pos: number; spaced: boolean }
  | { t: "string"; value: string; pos: number; spaced: boolean }
  | { t: "number"; value: number; pos: number; spaced: boolean }
  | { t: "bool"; value: boolean; pos: number; spaced: boolean }
  | { t: "nil"; pos: number; spaced: boolean }
  | { t: "pipe" | "lparen" | "rparen" | "declare" | "assign" | "comma"; pos: number; spaced: boolean };

type Item = { kind: "text"; text: string; pos: number } | { kind: "action"; tokens: Token[]; pos: number; end: number };

/** An error with the offset into the template where it happened; wrapped into a DenError at the top. */
class TemplateFailure extends Error {
  constructor(
    message: string,
    readonly pos: number,
    readonly hint?: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const Spaces = " \t\r\n";
const IdentStart = /[\p{L}_]/u;
const IdentChar = /[\p{L}\p{N}_]/u;
const NumberPattern = /^[+-]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)/;

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && Spaces.includes(ch);
}

function lex(text: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  let trimNext = false;
  while (pos < text.length) {
    const open = text.indexOf("{{", pos);
    let chunk = open === -1 ? text.slice(pos) : text.slice(pos, open);
    const chunkPos = pos;
    if (trimNext) {
      const trimmed = chunk.replace(/^[ \t\r\n]+/, "");
      chunk = trimmed;
      trimNext = false;
    }
    if (open === -1) {
      if (chunk !== "") items.push({ kind: "text", text: chunk, pos: chunkPos });
      break;
    }
    let inner = open + 2;
    // `{{-` trims only when a space follows: `{{-3}}` is the number -3.
    if (text[inner] === "-" && isSpace(text[inner + 1])) {
      chunk = chunk.replace(/[ \t\r\n]+$/, "");
      inner += 2;
    }
    if (chunk !== "") items.push({ kind: "text", text: chunk, pos: chunkPos });
    const action = lexAction(text, inner, open);
    if (action.tokens !== undefined) items.push({ kind: "action", tokens: action.tokens, pos: open, end: action.end });
    trimNext = action.trimRight;
    pos = action.end;
  }
  return items;
}

/** Reads one action starting after `{{` (and a left trim marker); `tokens` is undefined for a comment. */
function lexAction(text: string, start: number, open: number): { tokens?: Token[]; end: number; trimRight: boolean } {
  let pos = start;
  const skipSpaces = () => {
    while (isSpace(text[pos])) pos++;
  };
  const closeAt = (at: number): { end: number; trimRight: boolean } | undefined => {
    if (isSpace(text[at]) && text[at + 1] === "-" && text.startsWith("}}", at + 2)) return { end: at + 4, trimRight: true };
    if (text.startsWith("}}", at)) return { end: at + 2, trimRight: false };
    return undefined;
  };

  skipSpaces();
  if (text.startsWith("/*", pos)) {
    const commentEnd = text.indexOf("*/", pos + 2);
    if (commentEnd === -1) throw new TemplateFailure("unclosed comment", open);
    const close = closeAt(commentEnd + 2);
    if (close === undefined) throw new TemplateFailure("comment ends before closing delimiter", commentEnd);
    return close;
  }

  const tokens: Token[] = [];
  pos = start;
  for (;;) {
    const before = pos;
    // A right trim marker is one space, `-`, then `}}`; check before the spaces are skipped.
    const trimmedClose = isSpace(text[pos]) ? closeAt(pos) : undefined;
    if (trimmedClose?.trimRight) return { tokens, ...trimmedClose };
    skipSpaces();
    const spaced = pos > before || tokens.length === 0;
    if (pos >= text.length) throw new TemplateFailure("unclosed action", open, "close the action with `}}`");
    const close = closeAt(pos);
    if (close !== undefined) return { tokens, ...close };
    const ch = text[pos]!;
    const here = pos;
    if (ch === "|") {
      tokens.push({ t: "pipe", pos: here, spaced });
      pos++;
    } else if (ch === "(") {
      tokens.push({ t: "lparen", pos: here, spaced });
      pos++;
    } else if (ch === ")") {
      tokens.push({ t: "rparen", pos: here, spaced });
      pos++;
    } else if (ch === ",") {
      tokens.push({ t: "comma", pos: here, spaced });
      pos++;
    } else if (ch === ":" && text[pos + 1] === "=") {
      tokens.push({ t: "declare", pos: here, spaced });
      pos += 2;
    } else if (ch === "=") {
      tokens.push({ t: "assign", pos: here, spaced });
      pos++;
    } else if (ch === '"') {
      const end = scanQuoted(text, pos, '"');
      tokens.push({ t: "string", value: unquote(text.slice(pos, end), here), pos: here, spaced });
      pos = end;
    } else if (ch === "`") {
      const end = text.indexOf("`", pos + 1);
      if (end === -1) throw new TemplateFailure("unterminated raw quoted string", here);
      tokens.push({ t: "string", value: text.slice(pos + 1, end), pos: here, spaced });
      pos = end + 1;
    } else if (ch === "'") {
      const end = scanQuoted(text, pos, "'");
      const value = unquote(`"${text.slice(pos + 1, end - 1).replace(/"/g, '\\"')}"`, here);
      if ([...value].length !== 1) throw new TemplateFailure(`malformed character constant: ${text.slice(pos, end)}`, here);
      tokens.push({ t: "number", value: value.codePointAt(0)!, pos: here, spaced });
      pos = end;
    } else if (ch === "$") {
      pos++;
      while (pos < text.length && IdentChar.test(text[pos]!)) pos++;
      tokens.push({ t: "var", name: text.slice(here, pos), pos: here, spaced });
    } else if (ch === "." && !/[0-9]/.test(text[pos + 1] ?? "")) {
      pos++;
      if (pos < text.length && IdentStart.test(text[pos]!)) {
        while (pos < text.length && IdentChar.test(text[pos]!)) pos++;
        tokens.push({ t: "field", name: text.slice(here + 1, pos), pos: here, spaced });
      } else {
        tokens.push({ t: "dot", pos: here, spaced });
      }
    } else if (/[0-9+\-.]/.test(ch)) {
      const match = NumberPattern.exec(text.slice(pos));
      if (match === null) throw new TemplateFailure(`bad number syntax: "${text.slice(pos, pos + 8)}"`, here);
      const literal = match[0].replace(/_/g, "");
      const value = /^[+-]?0[oO]/.test(literal)
        ? (literal.startsWith("-") ? -1 : 1) * parseInt(literal.replace(/^[+-]?0[oO]/, ""), 8)
        : Number(literal);
      if (Number.isNaN(value)) throw new TemplateFailure(`bad number syntax: "${match[0]}"`, here);
      tokens.push({ t: "number", value, pos: here, spaced });
      pos += match[0].length;
    } else if (IdentStart.test(ch)) {
      while (pos < text.length && IdentChar.test(text[pos]!)) pos++;
      const name = text.slice(here, pos);
      if (name === "true" || name === "false") tokens.push({ t: "bool", value: name === "true", pos: here, spaced });
      else if (name === "nil") tokens.push({ t: "nil", pos: here, spaced });
      else tokens.push({ t: "ident", name, pos: here, spaced });
    } else {
      throw new TemplateFailure(`unexpected "${ch}" in action`, here);
    }
  }
}

function scanQuoted(text: string, start: number, quote: string): number {
  let pos = start + 1;
  while (pos < text.length) {
    const ch = text[pos];
    if (ch === "\\") pos += 2;
    else if (ch === quote) return pos + 1;
    else if (ch === "\n") break;
    else pos++;
  }
  throw new TemplateFailure("unterminated quoted string", start);
}

/** Go's escapes are JSON's plus `\a \v \xHH \ooo \UHHHHHHHH` and `\'`. */
function unquote(literal: string, pos: number): string {
  const body = literal.slice(1, -1);
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (ch !== "\\") {
      out += ch;
      continue;
    }
    const next = body[++i];
    const simple: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", '"': '"', "'": "'" };
    if (next !== undefined && next in simple) {
      out += simple[next];
    } else if (next === "x" || next === "u" || next === "U") {
      const width = next === "x" ? 2 : next === "u" ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + width);
      if (!new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) throw new TemplateFailure(`invalid escape "\\${next}${hex}" in string`, pos);
      out += String.fromCodePoint(parseInt(hex, 16));
      i += width;
    } else if (next !== undefined && /[0-7]/.test(next)) {
      const octal = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(octal)) throw new TemplateFailure(`invalid escape "\\${octal}" in string`, pos);
      out += String.fromCharCode(parseInt(octal, 8));
      i += 2;
    } else {
      throw new TemplateFailure(`invalid escape "\\${next ?? ""}" in string`, pos);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Parsing into a tree.

type Operand =
  | { kind: "field"; chain: string[]; pos: number }
  | { kind: "var"; name: string; chain: string[]; pos: number }
  | { kind: "sub"; pipe: Pipeline; chain: string[]; pos: number }
  | { kind: "func"; name: string; pos: number }
  | { kind: "literal"; value: unknown; pos: number }
  | { kind: "nil"; pos: number };

interface Command {
  args: Operand[];
  pos: number;
}

interface Pipeline {
  decl: string[];
  /** `=` rather than `:=`: assigns to variables already in scope. */
  assign: boolean;
  cmds: Command[];
  pos: number;
}

interface ControlNode {
  kind: "if" | "with" | "range";
  pipe: Pipeline;
  list: Node[];
  elseList: Node[];
}

type Node =
  | { kind: "text"; text: string }
  | { kind: "action"; pipe: Pipeline }
  | ControlNode
  | { kind: "break" | "continue"; pos: number };

type Terminator = { kind: "end" } | { kind: "else"; chained?: { keyword: "if" | "with"; pipe: Pipeline } };

class Parser {
  private index = 0;
  private rangeDepth = 0;

  constructor(
    private readonly items: Item[],
    private readonly funcs: ReadonlySet<string>,
  ) {}

  parse(): Node[] {
    const { nodes, terminator } = this.parseList();
    if (terminator !== undefined) throw new TemplateFailure(`unexpected {{${terminator.token}}}`, terminator.pos);
    return nodes;
  }

  private parseList(): { nodes: Node[]; terminator?: { term: Terminator; token: string; pos: number } } {
    const nodes: Node[] = [];
    while (this.index < this.items.length) {
      const item = this.items[this.index++]!;
      if (item.kind === "text") {
        nodes.push({ kind: "text", text: item.text });
        continue;
      }
      const tokens = item.tokens;
      const first = tokens[0];
      if (first === undefined) throw new TemplateFailure("missing value for command", item.pos, "an action needs a value or a keyword, e.g. {{ .Name }}");
      if (first.t === "ident") {
        switch (first.name) {
          case "end":
            if (tokens.length > 1) throw new TemplateFailure("unexpected words after end", tokens[1]!.pos);
            return { nodes, terminator: { term: { kind: "end" }, token: "end", pos: first.pos } };
          case "else": {
            const next = tokens[1];
            if (next === undefined) return { nodes, terminator: { term: { kind: "else" }, token: "else", pos: first.pos } };
            if (next.t === "ident" && (next.name === "if" || next.name === "with")) {
              const pipe = this.parsePipeline(tokens.slice(2), next.pos, { maxDecl: 1 });
              return { nodes, terminator: { term: { kind: "else", chained: { keyword: next.name, pipe } }, token: `else ${next.name}`, pos: first.pos } };
            }
            throw new TemplateFailure("unexpected words after else", next.pos, "write {{else}}, {{else if …}} or {{else with …}}");
          }
          case "if":
          case "with":
          case "range":
            nodes.push(this.parseControl(first.name, this.parsePipeline(tokens.slice(1), first.pos, { maxDecl: first.name === "range" ? 2 : 1 }), first.pos));
            continue;
          case "break":
          case "continue":
            if (this.rangeDepth === 0) throw new TemplateFailure(`{{${first.name}}} outside {{range}}`, first.pos);
            if (tokens.length > 1) throw new TemplateFailure(`unexpected words after ${first.name}`, tokens[1]!.pos);
            nodes.push({ kind: first.name, pos: first.pos });
            continue;
          case "define":
          case "template":
          case "block":
            throw new TemplateFailure(`"${first.name}" actions are not supported`, first.pos, "den evaluates single templates; inline the text instead");
        }
      }
      nodes.push({ kind: "action", pipe: this.parsePipeline(tokens, item.pos, { maxDecl: 1 }) });
    }
    return { nodes };
  }

  private parseControl(keyword: "if" | "with" | "range", pipe: Pipeline, pos: number): Node {
    if (keyword === "range") this.rangeDepth++;
    const body = this.parseList();
    if (keyword === "range") this.rangeDepth--;
    if (body.terminator === undefined) throw new TemplateFailure(`unexpected EOF: {{${keyword}}} has no matching {{end}}`, pos);
    const term = body.terminator.term;
    if (term.kind === "end") return { kind: keyword, pipe, list: body.nodes, elseList: [] };
    if (term.chained !== undefined) {
      if (keyword === "range") throw new TemplateFailure(`{{else ${term.chained.keyword}}} cannot follow {{range}}`, body.terminator.pos);
      // `{{else if x}}…{{end}}` is `{{else}}{{if x}}…{{end}}{{end}}` sharing one {{end}}.
      const nested = this.parseControl(term.chained.keyword, term.chained.pipe, body.terminator.pos);
      return { kind: keyword, pipe, list: body.nodes, elseList: [nested] };
    }
    const elseBody = this.parseList();
    if (elseBody.terminator === undefined) throw new TemplateFailure(`unexpected EOF: {{${keyword}}} has no matching {{end}}`, pos);
    if (elseBody.terminator.term.kind !== "end") throw new TemplateFailure(`unexpected {{${elseBody.terminator.token}}} after {{else}}`, elseBody.terminator.pos);
    return { kind: keyword, pipe, list: body.nodes, elseList: elseBody.nodes };
  }

  parsePipeline(tokens: Token[], pos: number, options: { maxDecl: number }): Pipeline {
    let rest = tokens;
    const decl: string[] = [];
    let assign = false;
    const declMatch = (): boolean => {
      const names: string[] = [];
      let i = 0;
      for (;;) {
        const token = rest[i];
        if (token?.t !== "var") return false;
        names.push(token.name);
        const sep = rest[i + 1];
        if (sep?.t === "comma") {
          i += 2;
          continue;
        }
        if (sep?.t === "declare" || sep?.t === "assign") {
          if (names.length > options.maxDecl) throw new TemplateFailure(`too many declarations in ${options.maxDecl === 2 ? "range" : "command"}`, token.pos);
          decl.push(...names);
          assign = sep.t === "assign";
          rest = rest.slice(i + 2);
          return true;
        }
        return false;
      }
    };
    declMatch();
    const cmds: Command[] = [];
    let current: Token[] = [];
    let depth = 0;
    const flush = (at: number) => {
      if (current.length === 0) throw new TemplateFailure("missing command in pipeline", at, "each `|` must be followed by a function or a value");
      cmds.push(this.parseCommand(current));
      current = [];
    };
    for (const token of rest) {
      if (token.t === "lparen") depth++;
      if (token.t === "rparen") {
        depth--;
        if (depth < 0) throw new TemplateFailure("unexpected right paren", token.pos);
      }
      if (token.t === "pipe" && depth === 0) flush(token.pos);
      else current.push(token);
    }
    if (depth > 0) throw new TemplateFailure("unclosed left paren", pos);
    if (current.length === 0) throw new TemplateFailure(cmds.length === 0 ? "missing value for command" : "missing command in pipeline", rest.at(-1)?.pos ?? pos);
    flush(pos);
    for (const cmd of cmds.slice(1)) {
      const head = cmd.args[0]!;
      if (head.kind === "literal" || head.kind === "nil") throw new TemplateFailure("non executable command in pipeline stage", head.pos);
    }
    return { decl, assign, cmds, pos };
  }

  private parseCommand(tokens: Token[]): Command {
    const args: Operand[] = [];
    let i = 0;
    while (i < tokens.length) {
      const token = tokens[i]!;
      if (!token.spaced && args.length > 0 && token.t !== "field") throw new TemplateFailure("missing space between arguments", token.pos);
      const [operand, next] = this.parseOperand(tokens, i);
      args.push(operand);
      i = next;
    }
    const head = args[0]!;
    if (head.kind === "nil" && args.length === 1) throw new TemplateFailure("nil is not a command", head.pos);
    return { args, pos: head.pos };
  }

  private parseOperand(tokens: Token[], start: number): [Operand, number] {
    const token = tokens[start]!;
    let operand: Operand;
    let i = start + 1;
    switch (token.t) {
      case "field":
        operand = { kind: "field", chain: [token.name], pos: token.pos };
        break;
      case "dot":
        operand = { kind: "field", chain: [], pos: token.pos };
        break;
      case "var":
        operand = { kind: "var", name: token.name, chain: [], pos: token.pos };
        break;
      case "string":
      case "number":
      case "bool":
        operand = { kind: "literal", value: token.value, pos: token.pos };
        break;
      case "nil":
        operand = { kind: "nil", pos: token.pos };
        break;
      case "ident":
        if (!this.funcs.has(token.name)) {
          const guess = suggest(token.name, [...this.funcs]);
          throw new TemplateFailure(`function "${token.name}" not defined`, token.pos, guess ? `did you mean "${guess}"?` : `available functions: ${[...this.funcs].sort().join(", ")}`);
        }
        operand = { kind: "func", name: token.name, pos: token.pos };
        break;
      case "lparen": {
        let depth = 1;
        let j = i;
        while (j < tokens.length) {
          const t = tokens[j]!;
          if (t.t === "lparen") depth++;
          if (t.t === "rparen" && --depth === 0) break;
          j++;
        }
        if (j >= tokens.length) throw new TemplateFailure("unclosed left paren", token.pos);
        operand = { kind: "sub", pipe: this.parsePipeline(tokens.slice(i, j), token.pos, { maxDecl: 1 }), chain: [], pos: token.pos };
        i = j + 1;
        break;
      }
      default:
        throw new TemplateFailure(`unexpected "${tokenText(token)}" in operand`, token.pos);
    }
    // `.A.B`, `$x.A` and `(…).A` chain fields written without a space.
    while (i < tokens.length) {
      const next = tokens[i]!;
      if (next.t !== "field" || next.spaced) break;
      if (operand.kind === "field" || operand.kind === "var" || operand.kind === "sub") {
        if (operand.kind === "field" && operand.chain.length === 0) throw new TemplateFailure(`unexpected ".${next.name}" after "."`, next.pos);
        operand.chain.push(next.name);
      } else {
        throw new TemplateFailure(`unexpected ".${next.name}" after ${operand.kind === "func" ? "a function name" : "a literal"}`, next.pos);
      }
      i++;
    }
    return [operand, i];
  }
}

function tokenText(token: Token): string {
  const symbols: Record<string, string> = { pipe: "|", lparen: "(", rparen: ")", declare: ":=", assign: "=", comma: "," };
  return symbols[token.t] ?? token.t;
}

// ---------------------------------------------------------------------------------------------------
// Values as Go's fmt prints and compares them.

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function goTypeName(value: unknown): string {
  if (value === null || value === undefined) return "<nil>";
  if (typeof value === "string") return "string";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "float64";
  if (typeof value === "boolean") return "bool";
  if (Array.isArray(value)) return "[]interface {}";
  if (isMap(value)) return "map[string]interface {}";
  return typeof value;
}

/**
 * Go's `%v` for a float64 is the shortest `%g`: exponent form below 1e-4 and from 1e6 up. Integral
 * numbers print as Go ints, because YAML integers reach Lima's templates as ints.
 */
function formatNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return String(value);
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
  const [mantissa, expText] = value.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return String(value);
}

/** fmt's `%v`. */
function formatValue(value: unknown): string {
  if (value === null || value === undefined) return "<nil>";
  if (typeof value === "number") return formatNumber(value);
  if (Array.isArray(value)) return `[${value.map(formatValue).join(" ")}]`;
  if (isMap(value)) {
    const keys = Object.keys(value).sort();
    return `map[${keys.map((key) => `${key}:${formatValue(value[key])}`).join(" ")}]`;
  }
  return String(value);
}

/** Go's `truth`: false, 0, "", nil and empty lists and maps are false. */
function isTrue(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value !== 0;
  if (typeof value === "string") return value.length > 0;
  if (Array.isArray(value)) return value.length > 0;
  if (isMap(value)) return Object.keys(value).length > 0;
  return true;
}

function basicKind(value: unknown): "nil" | "string" | "number" | "bool" | "other" {
  if (value === null || value === undefined) return "nil";
  if (typeof value === "string") return "string";
  if (typeof value === "number") return "number";
  if (typeof value === "boolean") return "bool";
  return "other";
}

function equal(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka === "nil" || kb === "nil") return ka === kb;
  if (ka === "other" || kb === "other") throw new Error(`non-comparable type ${goTypeName(ka === "other" ? a : b)}`);
  if (ka !== kb) throw new Error("incompatible types for comparison");
  return a === b;
}

function less(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka !== "string" && ka !== "number") throw new Error(`invalid type for comparison: ${goTypeName(a)}`);
  if (ka !== kb) throw new Error("incompatible types for comparison");
  return (a as number | string) < (b as number | string);
}

// ---------------------------------------------------------------------------------------------------
// printf: the verbs Lima's templates and `list --format` use, with flags and width.

function sprintf(format: string, args: unknown[]): string {
  let out = "";
  let argIndex = 0;
  const verbPattern = /%([-+# 0]*)(\d+)?(?:\.(\d+))?(.)?/y;
  for (let i = 0; i < format.length; ) {
    const ch = format[i]!;
    if (ch !== "%") {
      out += ch;
      i++;
      continue;
    }
    verbPattern.lastIndex = i;
    const match = verbPattern.exec(format)!;
    i = verbPattern.lastIndex;
    const [, flags = "", width, precision, verb] = match;
    if (verb === undefined) {
      out += "%!(NOVERB)";
      break;
    }
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (argIndex >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[argIndex++];
    let text = formatVerb(verb, arg, precision === undefined ? undefined : Number(precision), flags);
    if (width !== undefined && text.length < Number(width)) {
      const pad = Number(width) - text.length;
      if (flags.includes("-")) text += " ".repeat(pad);
      else if (flags.includes("0") && /[dfeg]/.test(verb) && typeof arg === "number") text = text.startsWith("-") ? `-${"0".repeat(pad)}${text.slice(1)}` : "0".repeat(pad) + text;
      else text = " ".repeat(pad) + text;
    }
    out += text;
  }
  if (argIndex < args.length) out += `%!(EXTRA ${args.slice(argIndex).map((arg) => `${goTypeName(arg)}=${formatValue(arg)}`).join(", ")})`;
  return out;
}

function formatVerb(verb: string, arg: unknown, precision: number | undefined, flags: string): string {
  const bad = () => (arg === null || arg === undefined ? `%!${verb}(<nil>)` : `%!${verb}(${goTypeName(arg)}=${formatValue(arg)})`);
  if (Array.isArray(arg) && verb !== "v") return `[${arg.map((item) => formatVerb(verb, item, precision, flags)).join(" ")}]`;
  switch (verb) {
    case "v":
      return formatValue(arg);
    case "s":
      if (typeof arg === "string") return precision === undefined ? arg : arg.slice(0, precision);
      return isMap(arg) ? formatValue(arg) : bad();
    case "q":
      if (typeof arg === "string") return JSON.stringify(arg);
      if (typeof arg === "number" && Number.isInteger(arg)) return `'${String.fromCodePoint(arg)}'`;
      return bad();
    case "d":
      if (typeof arg === "number" && Number.isInteger(arg)) return flags.includes("+") && arg >= 0 ? `+${arg}` : String(arg);
      return bad();
    case "f":
      if (typeof arg === "number") return arg.toFixed(precision ?? 6);
      return bad();
    case "t":
      return typeof arg === "boolean" ? String(arg) : bad();
    case "x":
      if (typeof arg === "number" && Number.isInteger(arg)) return arg.toString(16);
      if (typeof arg === "string") return Buffer.from(arg, "utf8").toString("hex");
      return bad();
    default:
      return bad();
  }
}

// ---------------------------------------------------------------------------------------------------
// Functions.

type Fn = (args: unknown[]) => unknown;

function arity(name: string, args: unknown[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} or ${max}`;
    throw new Error(`wrong number of args for ${name}: want ${want} got ${args.length}`);
  }
}

function indexValue(item: unknown, keys: unknown[]): unknown {
  let current = item;
  for (const key of keys) {
    if (current === null || current === undefined) throw new Error("index of untyped nil");
    if (Array.isArray(current) || typeof current === "string") {
      if (typeof key !== "number" || !Number.isInteger(key)) throw new Error(`cannot index slice/array with type ${goTypeName(key)}`);
      if (key < 0 || key >= current.length) throw new Error(`index out of range: ${key}`);
      current = typeof current === "string" ? Buffer.from(current, "utf8")[key] : current[key];
    } else if (isMap(current)) {
      // Go's index yields the zero value for a missing key, whatever the missingkey option says.
      current = Object.hasOwn(current, String(key)) ? current[String(key)] : undefined;
    } else {
      throw new Error(`can't index item of type ${goTypeName(current)}`);
    }
  }
  return current;
}

function goPrint(args: unknown[], spaces: "between-non-strings" | "always"): string {
  let out = "";
  args.forEach((arg, i) => {
    if (i > 0 && (spaces === "always" || (typeof arg !== "string" && typeof args[i - 1] !== "string"))) out += " ";
    out += formatValue(arg);
  });
  return out;
}

const Functions: Record<string, Fn> = {
  not: (args) => {
    arity("not", args, 1);
    return !isTrue(args[0]);
  },
  eq: (args) => {
    if (args.length < 2) throw new Error("missing argument for comparison");
    return args.slice(1).some((other) => equal(args[0], other));
  },
  ne: (args) => {
    arity("ne", args, 2);
    return !equal(args[0], args[1]);
  },
  lt: (args) => {
    arity("lt", args, 2);
    return less(args[0], args[1]);
  },
  le: (args) => {
    arity("le", args, 2);
    return less(args[0], args[1]) || equal(args[0], args[1]);
  },
  gt: (args) => {
    arity("gt", args, 2);
    return !less(args[0], args[1]) && !equal(args[0], args[1]);
  },
  ge: (args) => {
    arity("ge", args, 2);
    return !less(args[0], args[1]);
  },
  len: (args) => {
    arity("len", args, 1);
    const [value] = args;
    if (typeof value === "string") return Buffer.byteLength(value, "utf8");
    if (Array.isArray(value)) return value.length;
    if (isMap(value)) return Object.keys(value).length;
    throw new Error(value === null || value === undefined ? "len of nil pointer" : `len of type ${goTypeName(value)}`);
  },
  index: (args) => {
    arity("index", args, 1, Infinity);
    return indexValue(args[0], args.slice(1));
  },
  print: (args) => goPrint(args, "between-non-strings"),
  println: (args) => `${goPrint(args, "always")}\n`,
  printf: (args) => {
    arity("printf", args, 1, Infinity);
    if (typeof args[0] !== "string") throw new Error(`wrong type for value; expected string; got ${goTypeName(args[0])}`);
    return sprintf(args[0], args.slice(1));
  },
  // Lima's pkg/textutil functions.
  json: (args) => {
    arity("json", args, 1);
    return JSON.stringify(args[0] ?? null);
  },
  yaml: (args) => {
    arity("yaml", args, 1);
    return `---\n${stringifyYaml(args[0] ?? null).replace(/\n$/, "")}`;
  },
  indent: (args) => {
    if (args.length === 0) throw new Error("function takes at least one string argument");
    if (args.length > 2) throw new Error("function takes at most 2 arguments");
    const size = args.length > 1 ? args[0] : 2;
    if (typeof size !== "number" || !Number.isInteger(size)) throw new Error("optional first argument must be an integer");
    const text = args.at(-1);
    if (typeof text !== "string") throw new Error("last argument must be a string");
    const prefix = " ".repeat(size);
    return text
      .split("\n")
      .map((line) => (line === "" ? line : prefix + line))
      .join("\n");
  },
  missing: (args) => {
    if (args.length === 0) throw new Error("function takes at least one string argument");
    if (args.length > 2) throw new Error("function takes at most 2 arguments");
    const message = args.length > 1 ? args[0] : "<missing>";
    if (typeof message !== "string") throw new Error("optional first argument must be a string");
    const text = args.at(-1);
    if (typeof text !== "string") throw new Error("last argument must be a string");
    return text === "" ? message : text;
  },
};

/** Function names a template may call. */
export const GoTemplateFunctions: readonly string[] = [...Object.keys(Functions), "and", "or"].sort();

const FunctionNames: ReadonlySet<string> = new Set(GoTemplateFunctions);

// ---------------------------------------------------------------------------------------------------
// Execution.

class BreakSignal {}
class ContinueSignal {}

interface Variable {
  name: string;
  value: unknown;
}

class Executor {
  private readonly vars: Variable[];
  private out = "";

  constructor(
    root: unknown,
    private readonly missingKey: MissingKeyMode,
  ) {
    this.vars = [{ name: "$", value: root }];
  }

  run(nodes: Node[], dot: unknown): string {
    this.walkList(nodes, dot);
    return this.out;
  }

  private walkList(nodes: Node[], dot: unknown): void {
    const mark = this.vars.length;
    try {
      for (const node of nodes) this.walk(node, dot);
    } finally {
      this.vars.length = mark;
    }
  }

  private walk(node: Node, dot: unknown): void {
    switch (node.kind) {
      case "text":
        this.out += node.text;
        return;
      case "action": {
        const value = this.evalPipeline(node.pipe, dot);
        if (node.pipe.decl.length === 0) this.out += this.printable(value);
        return;
      }
      case "if":
      case "with": {
        const mark = this.vars.length;
        const value = this.evalPipeline(node.pipe, dot);
        try {
          if (isTrue(value)) this.walkList(node.list, node.kind === "with" ? value : dot);
          else this.walkList(node.elseList, dot);
        } finally {
          this.vars.length = mark;
        }
        return;
      }
      case "range":
        this.walkRange(node, dot);
        return;
      case "break":
        throw new BreakSignal();
      case "continue":
        throw new ContinueSignal();
    }
  }

  private walkRange(node: ControlNode, dot: unknown): void {
    const mark = this.vars.length;
    // The range pipeline's declared variables get each key and element, not the pipeline's value.
    const value = this.evalPipeline({ ...node.pipe, decl: [] }, dot);
    let entries: [unknown, unknown][];
    if (Array.isArray(value)) entries = value.map((item, i) => [i, item]);
    else if (isMap(value)) entries = Object.keys(value).sort().map((key) => [key, value[key]]);
    else if (typeof value === "number" && Number.isInteger(value)) entries = Array.from({ length: Math.max(0, value) }, (_, i) => [i, i]);
    else if (value === null || value === undefined) entries = [];
    else throw new TemplateFailure(`range can't iterate over ${formatValue(value)}`, node.pipe.pos);
    try {
      if (entries.length === 0) {
        this.walkList(node.elseList, dot);
        return;
      }
      for (const [key, item] of entries) {
        this.vars.length = mark;
        if (node.pipe.decl.length === 1) this.vars.push({ name: node.pipe.decl[0]!, value: item });
        if (node.pipe.decl.length === 2) this.vars.push({ name: node.pipe.decl[0]!, value: key }, { name: node.pipe.decl[1]!, value: item });
        try {
          this.walkList(node.list, item);
        } catch (signal) {
          if (signal instanceof BreakSignal) break;
          if (signal instanceof ContinueSignal) continue;
          throw signal;
        }
      }
    } finally {
      this.vars.length = mark;
    }
  }

  private printable(value: unknown): string {
    if (value === null || value === undefined) return this.missingKey === "zero" ? "" : "<no value>";
    return formatValue(value);
  }

  private evalPipeline(pipe: Pipeline, dot: unknown): unknown {
    let value: unknown;
    let hasFinal = false;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(cmd, dot, hasFinal ? { value } : undefined);
      hasFinal = true;
    }
    for (const name of pipe.decl) {
      if (pipe.assign) {
        const target = this.vars.findLast((v) => v.name === name);
        if (target === undefined) throw new TemplateFailure(`undefined variable: ${name}`, pipe.pos);
        target.value = value;
      } else {
        this.vars.push({ name, value });
      }
    }
    return value;
  }

  private evalCommand(cmd: Command, dot: unknown, final: { value: unknown } | undefined): unknown {
    const [head, ...rest] = cmd.args as [Operand, ...Operand[]];
    if (head.kind === "func") return this.callFunction(head, rest, dot, final);
    if (rest.length > 0 || final !== undefined) {
      throw new TemplateFailure(`can't give argument to non-function ${describeOperand(head)}`, (rest[0] ?? head).pos);
    }
    return this.evalOperand(head, dot);
  }

  private callFunction(head: Extract<Operand, { kind: "func" }>, rest: Operand[], dot: unknown, final: { value: unknown } | undefined): unknown {
    if (head.name === "and" || head.name === "or") {
      // Go evaluates and/or lazily and returns the deciding argument itself.
      const thunks: (() => unknown)[] = rest.map((arg) => () => this.evalOperand(arg, dot));
      if (final !== undefined) thunks.push(() => final.value);
      if (thunks.length === 0) throw new TemplateFailure(`wrong number of args for ${head.name}: want at least 1 got 0`, head.pos);
      let value: unknown;
      for (const thunk of thunks) {
        value = thunk();
        if (isTrue(value) !== (head.name === "and")) return value;
      }
      return value;
    }
    const args = rest.map((arg) => this.evalOperand(arg, dot));
    if (final !== undefined) args.push(final.value);
    try {
      return Functions[head.name]!(args);
    } catch (error) {
      if (error instanceof TemplateFailure) throw error;
      throw new TemplateFailure(`error calling ${head.name}: ${(error as Error).message}`, head.pos);
    }
  }

  private evalOperand(operand: Operand, dot: unknown): unknown {
    switch (operand.kind) {
      case "literal":
        return operand.value;
      case "nil":
        return null;
      case "func":
        return this.callFunction(operand, [], dot, undefined);
      case "field":
        return this.evalChain(dot, operand.chain, operand.pos, ".");
      case "var": {
        const variable = this.vars.findLast((v) => v.name === operand.name);
        if (variable === undefined) throw new TemplateFailure(`undefined variable "${operand.name}"`, operand.pos);
        return this.evalChain(variable.value, operand.chain, operand.pos, operand.name);
      }
      case "sub":
        return this.evalChain(this.evalPipeline(operand.pipe, dot), operand.chain, operand.pos, "(…)");
    }
  }

  private evalChain(start: unknown, chain: string[], pos: number, origin: string): unknown {
    let value = start;
    let path = origin === "." ? "" : origin;
    for (const name of chain) {
      const parent = path === "" ? "." : path;
      path += `.${name}`;
      if (value === null || value === undefined) throw new TemplateFailure(`nil pointer evaluating ${parent}.${name}`, pos, `"${parent}" has no value here`);
      if (!isMap(value)) throw new TemplateFailure(`can't evaluate field ${name} in type ${goTypeName(value)}`, pos, `"${parent}" is a ${goTypeName(value)}, not a map`);
      if (Object.hasOwn(value, name)) {
        value = value[name];
        continue;
      }
      if (this.missingKey === "error") {
        const keys = Object.keys(value).sort();
        const guess = suggest(name, keys);
        const hint =
          keys.length === 0
            ? `"${parent}" has no keys`
            : `available keys${parent === "." ? "" : ` of ${parent}`}: ${keys.join(", ")}${guess ? ` (did you mean "${guess}"?)` : ""}`;
        throw new TemplateFailure(`map has no entry for key "${name}"`, pos, hint, { key: name, path, availableKeys: keys });
      }
      value = this.missingKey === "zero" ? "" : undefined;
    }
    return value;
  }
}

function describeOperand(operand: Operand): string {
  switch (operand.kind) {
    case "field":
      return operand.chain.length === 0 ? "." : `.${operand.chain.join(".")}`;
    case "var":
      return [operand.name, ...operand.chain].join(".");
    case "literal":
      return JSON.stringify(operand.value);
    default:
      return operand.kind;
  }
}

// ---------------------------------------------------------------------------------------------------

function lineAndColumn(text: string, pos: number): { line: number; column: number } {
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  return { line, column: pos - (before.lastIndexOf("\n") + 1) + 1 };
}

/** The template as named in a message: whole when short, else the offending line. */
function quoteTemplate(text: string, line: number): string {
  const shown = text.includes("\n") ? (text.split("\n")[line - 1] ?? "") : text;
  return JSON.stringify(shown.length > 80 ? `${shown.slice(0, 77)}...` : shown);
}

/**
 * Expands a Go text/template against `data`. Throws DenError("TEMPLATE_EXPR") with the line and column
 * for bad syntax, an unknown function, or (by default) a field that names a missing map key.
 */
export function expandGoTemplate(text: string, data: Record<string, unknown>, options: GoTemplateOptions = {}): string {
  try {
    const tree = new Parser(lex(text), FunctionNames).parse();
    return new Executor(data, options.missingKey ?? "error").run(tree, data);
  } catch (error) {
    if (!(error instanceof TemplateFailure)) throw error;
    const { line, column } = lineAndColumn(text, error.pos);
    const where = text.includes("\n") ? `line ${line}, column ${column}` : `column ${column}`;
    const source = options.name === undefined ? "" : ` in ${options.name}`;
    throw new DenError("TEMPLATE_EXPR", `Cannot expand template${source} ${quoteTemplate(text, line)} at ${where}: ${error.message}`, {
      hint: error.hint ?? "see https://pkg.go.dev/text/template for the template syntax",
      details: { template: text, line, column, ...error.details },
    });
  }
}
