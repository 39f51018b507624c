// What one yq evaluation may do and build. Expressions come from the command line (`--set`, `--yq`) and from
// templates (provision `mode: yq`, run by the guest agent); a few characters such as `.a[99999999] = 1`,
// `.a += .a` repeated, or `(.,.) | (.,.) | …` would otherwise take gigabytes or hours. The evaluator (evaluate-node.ts)
// spends steps as it works and measures every value it builds against these limits.

export const YqLimits = {
  /** Evaluation steps (nodes evaluated, elements and keys copied or compared) for one evaluation. */
  steps: 10_000_000,
  /** How far past the end of a list an assignment may reach; yq fills the gap with nulls. */
  indexGap: 1024,
  /** Items plus string characters a value may have beyond the size of the evaluation's input. */
  growth: 1 << 20,
  /** How deeply a value built by the expression may nest. */
  depth: 1000,
} as const;

export interface YqMeasure {
  /** Every scalar, list and map counts 1, and a string also counts its length. */
  size: number;
  /** 0 for a scalar, 1 for a list of scalars, … */
  depth: number;
}

/** The budget of one evaluation: steps left, and the size a value may reach. */
export class YqBudget {
  readonly maxSize: number;
  #steps = 0;
  /** Sizes of lists and maps already measured; values share subtrees, so each is walked once. */
  readonly #measures = new WeakMap<object, YqMeasure>();

  constructor(input: unknown) {
    this.maxSize = this.measure(input).size + YqLimits.growth;
  }

  /** Takes `units` steps; false when that exceeds the budget. */
  spend(units: number): boolean {
    this.#steps += units;
    return this.#steps <= YqLimits.steps;
  }

  /** The size and depth of a value, walked without recursion so that a deeply nested input cannot overflow the stack. */
  measure(value: unknown): YqMeasure {
    if (value === null || typeof value !== "object") return scalarMeasure(value);
    const known = this.#measures.get(value);
    if (known !== undefined) return known;
    const inProgress = new WeakSet<object>();
    const stack: object[] = [value];
    while (stack.length > 0) {
      const node = stack.at(-1)!;
      if (this.#measures.has(node)) {
        stack.pop();
        continue;
      }
      const children = Array.isArray(node) ? node : Object.values(node);
      if (!inProgress.has(node)) {
        inProgress.add(node);
        for (const child of children) {
          // A child that is still in progress is an ancestor (a cycle); it is counted once, as a leaf.
          if (child !== null && typeof child === "object" && !this.#measures.has(child) && !inProgress.has(child)) stack.push(child);
        }
        continue;
      }
      let size = 1;
      let depth = 0;
      for (const child of children) {
        const measured = child !== null && typeof child === "object" ? (this.#measures.get(child) ?? { size: 1, depth: 0 }) : scalarMeasure(child);
        size += measured.size;
        depth = Math.max(depth, measured.depth + 1);
      }
      this.#measures.set(node, { size, depth });
      stack.pop();
    }
    return this.#measures.get(value)!;
  }
}

function scalarMeasure(value: unknown): YqMeasure {
  return { size: typeof value === "string" ? 1 + value.length : 1, depth: 0 };
}
