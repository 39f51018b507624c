// Execution: walks a parsed template against the data, as Go's text/template executes it.
import { formatValue, goTypeName, isMap, isTrue, sortedKeys } from "./go-value.ts";
import type { Command, ControlNode, Node, Operand, Pipeline } from "./parse-template.ts";
import { suggestName } from "./suggest-name.ts";
import { TemplateFailure } from "./template-failure.ts";
import { TemplateFunctions } from "./template-functions.ts";

/** What a field access on a map without that key does (Go's `Option("missingkey=…")`). */
export type MissingKeyMode = "error" | "zero" | "default";

interface ExecuteOptions {
  /**
   * `error`: fail naming the key. `zero`: the key reads as empty, like Go's zero value for Lima's
   * string maps (`.Param`). `default`: Go's default, `<no value>`.
   */
  missingKey: MissingKeyMode;
}

/** Runs a template tree with `data` as both `.` and `$`. */
export function executeTemplate(tree: Node[], data: unknown, options: ExecuteOptions): string {
  return new Executor(data, options.missingKey).run(tree);
}

class BreakSignal {}
class ContinueSignal {}

interface Variable {
  name: string;
  value: unknown;
}

class Executor {
  /** The variable stack; a scope is a length to cut it back to. */
  private readonly vars: Variable[];
  private out = "";

  constructor(
    private readonly root: unknown,
    private readonly missingKey: MissingKeyMode,
  ) {
    this.vars = [{ name: "$", value: root }];
  }

  run(nodes: Node[]): string {
    this.walkList(nodes, this.root);
    return this.out;
  }

  /** Runs `fn`, then drops the variables it declared. */
  private scoped<T>(fn: () => T): T {
    const mark = this.vars.length;
    try {
      return fn();
    } finally {
      this.vars.length = mark;
    }
  }

  private walkList(nodes: Node[], dot: unknown): void {
    this.scoped(() => {
      for (const node of nodes) this.walk(node, dot);
    });
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
      case "with":
        this.scoped(() => {
          const value = this.evalPipeline(node.pipe, dot);
          if (isTrue(value)) this.walkList(node.list, node.kind === "with" ? value : dot);
          else this.walkList(node.elseList, dot);
        });
        return;
      case "range":
        this.scoped(() => this.walkRange(node, dot));
        return;
      case "break":
        throw new BreakSignal();
      case "continue":
        throw new ContinueSignal();
    }
  }

  private walkRange(node: ControlNode, dot: unknown): void {
    // As in Go, the declared variables first hold the pipeline's value (what {{else}} sees), then each key and element.
    const value = this.evalPipeline(node.pipe, dot);
    let entries: [unknown, unknown][];
    if (Array.isArray(value)) entries = value.map((item, i) => [i, item]);
    else if (isMap(value)) entries = sortedKeys(value).map((key) => [key, value[key]]);
    else if (typeof value === "number" && Number.isInteger(value)) entries = Array.from({ length: Math.max(0, value) }, (_, i) => [i, i]);
    else if (value === null || value === undefined) entries = [];
    else throw new TemplateFailure(`range can't iterate over ${formatValue(value)}`, node.pipe.pos);
    if (entries.length === 0) {
      this.walkList(node.elseList, dot);
      return;
    }
    const { decl, assign } = node.pipe;
    // Declared with `:=`, the variables are the top of the stack; with `=`, they are the outer ones.
    const targets = decl.map((name, i) => (assign ? this.lookupVariable(name, node.pipe.pos) : this.vars[this.vars.length - decl.length + i]!));
    for (const [key, item] of entries) {
      if (targets.length === 1) targets[0]!.value = item;
      if (targets.length === 2) [targets[0]!.value, targets[1]!.value] = [key, item];
      try {
        this.walkList(node.list, item);
      } catch (signal) {
        if (signal instanceof BreakSignal) break;
        if (signal instanceof ContinueSignal) continue;
        throw signal;
      }
    }
  }

  private printable(value: unknown): string {
    if (value === null || value === undefined) return this.missingKey === "zero" ? "" : "<no value>";
    return formatValue(value);
  }

  private lookupVariable(name: string, pos: number): Variable {
    const variable = this.vars.findLast((v) => v.name === name);
    if (variable === undefined) throw new TemplateFailure(`undefined variable: ${name}`, pos);
    return variable;
  }

  private evalPipeline(pipe: Pipeline, dot: unknown): unknown {
    let value: unknown;
    let hasFinal = false;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(cmd, dot, hasFinal ? { value } : undefined);
      hasFinal = true;
    }
    for (const name of pipe.decl) {
      if (pipe.assign) this.lookupVariable(name, pipe.pos).value = value;
      else this.vars.push({ name, value });
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
      return TemplateFunctions[head.name]!(args);
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
      case "var":
        return this.evalChain(this.lookupVariable(operand.name, operand.pos).value, operand.chain, operand.pos, operand.name);
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
      if (this.missingKey === "error") throw missingKeyFailure(value, { name, parent, path, pos });
      // Go's missing entry is an invalid value, and every field of an invalid value is again missing;
      // the `zero` mode stands for a map of strings, whose zero value "" has no fields.
      if (this.missingKey === "default") return undefined;
      value = "";
    }
    return value;
  }
}

function missingKeyFailure(map: Record<string, unknown>, at: { name: string; parent: string; path: string; pos: number }): TemplateFailure {
  const keys = sortedKeys(map);
  const guess = suggestName(at.name, keys);
  const hint =
    keys.length === 0
      ? `"${at.parent}" has no keys`
      : `available keys${at.parent === "." ? "" : ` of ${at.parent}`}: ${keys.join(", ")}${guess ? ` (did you mean "${guess}"?)` : ""}`;
  return new TemplateFailure(`map has no entry for key "${at.name}"`, at.pos, hint, { key: at.name, path: at.path, availableKeys: keys });
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
