// Parsing: the lexed items become a tree of text, actions and control structures. Like Go's parser it
// checks here what can be checked without data: known functions, declared variables, matching {{end}}s.
import { type Item, SymbolText, type Token } from "./lex-template.ts";
import { suggestName } from "./suggest-name.ts";
import { TemplateFailure } from "./template-failure.ts";

export type Operand =
  | { kind: "field"; chain: string[]; pos: number }
  | { kind: "var"; name: string; chain: string[]; pos: number }
  | { kind: "sub"; pipe: Pipeline; chain: string[]; pos: number }
  | { kind: "func"; name: string; pos: number }
  | { kind: "literal"; value: unknown; pos: number }
  | { kind: "nil"; pos: number };

export interface Command {
  args: Operand[];
  pos: number;
}

export interface Pipeline {
  decl: string[];
  /** `=` rather than `:=`: assigns to variables already in scope. */
  assign: boolean;
  cmds: Command[];
  pos: number;
}

type ControlKeyword = "if" | "with" | "range";

export interface ControlNode {
  kind: ControlKeyword;
  pipe: Pipeline;
  list: Node[];
  elseList: Node[];
}

export type Node =
  | { kind: "text"; text: string }
  | { kind: "action"; pipe: Pipeline }
  | ControlNode
  | { kind: "break" | "continue"; pos: number };

/** `chained`: an `{{else if …}}` or `{{else with …}}`, whose keyword and pipeline are still to parse. */
type Terminator = { kind: "end" } | { kind: "else"; chained?: { keyword: "if" | "with"; tokens: Token[]; pos: number } };

/**
 * How deep parentheses, and {{if}}/{{with}}/{{range}} blocks, may nest. Go allows 10000 parentheses
 * (`maxStackDepth`) and any nesting of blocks on its growable stacks; the parser and the executor here
 * recurse per level on a fixed JS stack, so both stop at a depth no real template comes near.
 */
const MaxDepth = 1000;

interface ParseOptions {
  /** Names of the functions a template may call. */
  functions: ReadonlySet<string>;
}

/** Builds the tree of a lexed template. */
export function parseTemplate(items: Item[], options: ParseOptions): Node[] {
  return new Parser(items, options.functions).parse();
}

class Parser {
  private index = 0;
  private rangeDepth = 0;
  private parenDepth = 0;
  private controlDepth = 0;
  /** Variables in scope while parsing, as Go's parser keeps them: `$` always, then declarations in order. */
  private readonly vars: string[] = ["$"];

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
              const chained = { keyword: next.name as "if" | "with", tokens: tokens.slice(2), pos: next.pos };
              return { nodes, terminator: { term: { kind: "else", chained }, token: `else ${next.name}`, pos: first.pos } };
            }
            throw new TemplateFailure("unexpected words after else", next.pos, "write {{else}}, {{else if …}} or {{else with …}}");
          }
          case "if":
          case "with":
          case "range":
            nodes.push(this.parseControl(first.name, tokens.slice(1), first.pos));
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
      nodes.push({ kind: "action", pipe: this.parsePipeline(pairParens(tokens), { from: 0, to: tokens.length, pos: item.pos }, "command") });
    }
    return { nodes };
  }

  private parseControl(keyword: ControlKeyword, tokens: Token[], pos: number): ControlNode {
    if (this.controlDepth >= MaxDepth) throw new TemplateFailure(`max nesting depth exceeded: more than ${MaxDepth} blocks inside each other`, pos);
    // Variables declared in the control's pipeline or body go out of scope at its {{end}}.
    const mark = this.vars.length;
    this.controlDepth++;
    try {
      const pipe = this.parsePipeline(pairParens(tokens), { from: 0, to: tokens.length, pos }, keyword);
      if (keyword === "range") this.rangeDepth++;
      const body = this.parseList();
      if (keyword === "range") this.rangeDepth--;
      const term = this.expectTerminator(keyword, body.terminator, pos);
      if (term.kind === "end") return { kind: keyword, pipe, list: body.nodes, elseList: [] };
      const chained = term.chained;
      // `{{else if x}}…{{end}}` is `{{else}}{{if x}}…{{end}}{{end}}` sharing one {{end}}, but only for the
      // keyword of the control itself: Go reads `{{if}}…{{else with}}` as a nested {{with}} needing its own {{end}}.
      if (chained?.keyword === keyword) return { kind: keyword, pipe, list: body.nodes, elseList: [this.parseControl(chained.keyword, chained.tokens, chained.pos)] };
      const nested = chained === undefined ? [] : [this.parseControl(chained.keyword, chained.tokens, chained.pos)];
      const elseBody = this.parseList();
      const elseTerm = this.expectTerminator(keyword, elseBody.terminator, pos);
      if (elseTerm.kind !== "end") throw new TemplateFailure(`expected end; found {{${elseBody.terminator!.token}}}`, elseBody.terminator!.pos);
      return { kind: keyword, pipe, list: body.nodes, elseList: [...nested, ...elseBody.nodes] };
    } finally {
      this.vars.length = mark;
      this.controlDepth--;
    }
  }

  private expectTerminator(keyword: ControlKeyword, terminator: { term: Terminator } | undefined, pos: number): Terminator {
    if (terminator === undefined) throw new TemplateFailure(`unexpected EOF: {{${keyword}}} has no matching {{end}}`, pos);
    return terminator.term;
  }

  /**
   * Parses `tokens[from, to)` of an action. `context` names the place for messages as Go does: `if`,
   * `with`, `range`, `command`, `parenthesized pipeline`.
   */
  private parsePipeline(action: ActionTokens, span: { from: number; to: number; pos: number }, context: string): Pipeline {
    const { tokens, closeOf } = action;
    const maxDecl = context === "range" ? 2 : 1;
    let start = span.from;
    const decl: string[] = [];
    let assign = false;
    for (let i = start; i < span.to && tokens[i]!.t === "var"; i += 2) {
      const sep = i + 1 < span.to ? tokens[i + 1] : undefined;
      if (sep?.t === "comma") continue;
      if (sep?.t === "declare" || sep?.t === "assign") {
        const names = tokens.slice(start, i + 1).filter((token) => token.t === "var");
        if (names.length > maxDecl) throw new TemplateFailure(`too many declarations in ${context}`, tokens[i]!.pos);
        decl.push(...names.map((token) => token.name));
        assign = sep.t === "assign";
        start = i + 2;
      }
      break;
    }
    // Go's parser puts assigned names in scope too; assigning to an undeclared one fails when it runs.
    this.vars.push(...decl);
    const cmds: Command[] = [];
    let cmdStart = start;
    for (let i = start; i <= span.to; i++) {
      if (i < span.to && tokens[i]!.t !== "pipe") {
        // A parenthesized pipeline is one operand: skip to its `)` so each token is visited once per level.
        if (tokens[i]!.t === "lparen") i = closeOf[i]!;
        continue;
      }
      if (i === cmdStart) {
        const at = i < span.to ? tokens[i]!.pos : (tokens[i - 1]?.pos ?? span.pos);
        if (i < span.to) throw new TemplateFailure("missing command in pipeline", at, "each `|` must be followed by a function or a value");
        throw new TemplateFailure(cmds.length === 0 ? `missing value for ${context}` : "missing command in pipeline", i > span.from ? at : span.pos);
      }
      cmds.push(this.parseCommand(action, cmdStart, i));
      cmdStart = i + 1;
    }
    for (const cmd of cmds.slice(1)) {
      const head = cmd.args[0]!;
      if (head.kind === "literal" || head.kind === "nil") throw new TemplateFailure("non executable command in pipeline stage", head.pos);
    }
    return { decl, assign, cmds, pos: span.pos };
  }

  private parseCommand(action: ActionTokens, from: number, to: number): Command {
    const args: Operand[] = [];
    let i = from;
    while (i < to) {
      const token = action.tokens[i]!;
      if (!token.spaced && args.length > 0 && token.t !== "field") throw new TemplateFailure("missing space between arguments", token.pos);
      const [operand, next] = this.parseOperand(action, i, to);
      args.push(operand);
      i = next;
    }
    const head = args[0]!;
    if (head.kind === "nil" && args.length === 1) throw new TemplateFailure("nil is not a command", head.pos);
    return { args, pos: head.pos };
  }

  private parseOperand(action: ActionTokens, start: number, to: number): [Operand, number] {
    const { tokens, closeOf } = action;
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
        if (!this.vars.includes(token.name)) throw new TemplateFailure(`undefined variable "${token.name}"`, token.pos);
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
          const names = [...this.funcs].sort();
          const guess = suggestName(token.name, names);
          throw new TemplateFailure(`function "${token.name}" not defined`, token.pos, guess ? `did you mean "${guess}"?` : `available functions: ${names.join(", ")}`);
        }
        operand = { kind: "func", name: token.name, pos: token.pos };
        break;
      case "lparen": {
        if (this.parenDepth >= MaxDepth) throw new TemplateFailure("max expression depth exceeded", token.pos);
        this.parenDepth++;
        const close = closeOf[start]!;
        operand = { kind: "sub", pipe: this.parsePipeline(action, { from: i, to: close, pos: token.pos }, "parenthesized pipeline"), chain: [], pos: token.pos };
        this.parenDepth--;
        i = close + 1;
        break;
      }
      default:
        throw new TemplateFailure(`unexpected "${SymbolText[token.t]}" in operand`, token.pos);
    }
    // `.A.B`, `$x.A` and `(…).A` chain fields written without a space.
    while (i < to) {
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

/** An action's tokens with, for each `(`, the index of its `)`. */
interface ActionTokens {
  tokens: Token[];
  closeOf: number[];
}

/** Pairs the parentheses of an action once, so parsing stays linear however deep they nest. */
function pairParens(tokens: Token[]): ActionTokens {
  const closeOf: number[] = [];
  const open: number[] = [];
  tokens.forEach((token, i) => {
    if (token.t === "lparen") open.push(i);
    if (token.t !== "rparen") return;
    const start = open.pop();
    if (start === undefined) throw new TemplateFailure("unexpected right paren", token.pos);
    closeOf[start] = i;
  });
  if (open.length > 0) throw new TemplateFailure("unclosed left paren", tokens[open.at(-1)!]!.pos);
  return { tokens, closeOf };
}
