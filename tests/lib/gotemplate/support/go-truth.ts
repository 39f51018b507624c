// Go's truth for template values (text/template's `truth`): the empty string, zero, nil, false and empty lists and
// maps are false; everything else is true. isTrue() and the template's if, with and not must agree on each.
export const GoTruthCases: readonly { label: string; value: unknown; truth: boolean }[] = [
  { label: "an empty string", value: "", truth: false },
  { label: "a string", value: "x", truth: true },
  { label: "a blank string", value: " ", truth: true },
  { label: "zero", value: 0, truth: false },
  { label: "a number", value: 7, truth: true },
  { label: "a negative number", value: -1, truth: true },
  { label: "a fraction", value: 0.5, truth: true },
  { label: "nil", value: null, truth: false },
  { label: "undefined", value: undefined, truth: false },
  { label: "false", value: false, truth: false },
  { label: "true", value: true, truth: true },
  { label: "an empty list", value: [], truth: false },
  { label: "a list of a zero", value: [0], truth: true },
  { label: "a list of nil", value: [null], truth: true },
  { label: "an empty map", value: {}, truth: false },
  { label: "a map of a zero", value: { a: 0 }, truth: true },
  { label: "a map of nil", value: { a: null }, truth: true },
];
