import { expect, test } from "bun:test";
import { parseDocument } from "yaml";
import { reconcileDocument } from "../../../lib/yq/reconcile-document.ts";

interface ReconcileRow {
  name: string;
  text: string;
  after: unknown;
  expected: string;
}

const rows: ReconcileRow[] = [
  {
    name: "returns the document unchanged when the value is the same",
    text: "# c\na: 1 # one\nb: [x, y]\n",
    after: { a: 1, b: ["x", "y"] },
    expected: "# c\na: 1 # one\nb: [ x, y ]\n",
  },
  {
    name: "edits a changed scalar in place",
    text: "a: 1 # one\n",
    after: { a: 2 },
    expected: "a: 2 # one\n",
  },
  {
    name: "drops the old spelling of a changed number",
    text: "x: 0x10\ny: 1.50\n",
    after: { x: 3, y: 2.5 },
    expected: "x: 3\ny: 2.5\n",
  },
  {
    name: "replaces a scalar by a map keeping its comment",
    text: "a: null # was empty\nb: 1\n",
    after: { a: { c: 1 }, b: 1 },
    expected: "a:\n  # was empty\n  c: 1\nb: 1\n",
  },
  {
    name: "keeps a one-line comment of a list that becomes null",
    text: "a:\n  # the list\n  - 1\nb: 1\n",
    after: { a: null, b: 1 },
    expected: "a: null # the list\nb: 1\n",
  },
  {
    name: "drops a longer comment of a list that becomes null",
    text: "a:\n  # about\n  # the items\n  - 1\nb: 1\n",
    after: { a: null, b: 1 },
    expected: "a: null\nb: 1\n",
  },
  {
    name: "keeps list items equal before and after and edits the ones in between",
    text: "l:\n- a # A\n- b # B\n- c # C\n",
    after: { l: ["a", "x", "c", "d"] },
    expected: "l:\n- a # A\n- x # B\n- c # C\n- d\n",
  },
  {
    name: "removes items and keeps the comments of the rest",
    text: "l:\n- a # A\n- b # B\n- c # C\n",
    after: { l: ["c"] },
    expected: "l:\n- c # C\n",
  },
  {
    name: "turns an empty flow map that gains keys into a block map",
    text: "a: {}\n",
    after: { a: { b: 1 } },
    expected: "a:\n  b: 1\n",
  },
  {
    name: "keeps a non-empty flow list in flow style",
    text: "dns: [8.8.8.8] # flow\n",
    after: { dns: ["8.8.8.8", "1.1.1.1"] },
    expected: "dns: [ 8.8.8.8, 1.1.1.1 ] # flow\n",
  },
  {
    name: "does not let an edit through an anchor leak into its aliases",
    text: "a: &x {p: 1}\nb: *x\n",
    after: { a: { p: 2 }, b: { p: 1 } },
    expected: "a: &x { p: 2 }\nb: { p: 1 }\n",
  },
  {
    name: "keeps an alias whose value did not change",
    text: "a: &x 1\nb: *x\nc: 0\n",
    after: { a: 1, b: 1, c: 5 },
    expected: "a: &x 1\nb: *x\nc: 5\n",
  },
  {
    name: "keeps a merge key and edits the map's own keys",
    text: "base: &b\n  cpus: 2\nvm:\n  <<: *b\n  disk: 10GiB\n",
    after: { base: { cpus: 2 }, vm: { cpus: 2, disk: "20GiB" } },
    expected: "base: &b\n  cpus: 2\nvm:\n  <<: *b\n  disk: 20GiB\n",
  },
  {
    name: "overrides a merged key with a key of its own",
    text: "base: &b\n  cpus: 2\nvm:\n  <<: *b\n  disk: 10GiB\n",
    after: { base: { cpus: 2 }, vm: { cpus: 8, disk: "10GiB" } },
    expected: "base: &b\n  cpus: 2\nvm:\n  <<: *b\n  disk: 10GiB\n  cpus: 8\n",
  },
  {
    name: "rebuilds a map from which a merged key is deleted",
    text: "base: &b\n  cpus: 2\nvm:\n  <<: *b\n  disk: 10GiB\n",
    after: { base: { cpus: 2 }, vm: { disk: "10GiB" } },
    expected: "base: &b\n  cpus: 2\nvm:\n  disk: 10GiB\n",
  },
  {
    name: "writes identical new values without anchors",
    text: "a: 1\n",
    after: (() => {
      const shared = { k: 1 };
      return { a: 1, b: [shared, shared] };
    })(),
    expected: "a: 1\nb:\n- k: 1\n- k: 1\n",
  },
  {
    name: "replaces the whole document when its kind changes",
    text: "# top\n\n- 1\n",
    after: { a: 1 },
    expected: "# top\n\na: 1\n",
  },
];

test.each(rows)("reconcileDocument() $name", ({ text, after, expected }) => {
  const document = parseDocument(text, { merge: true });
  const out = reconcileDocument(document, { before: document.toJS(), after });
  expect(out.toString({ lineWidth: 0, indentSeq: false })).toBe(expected);
  expect(out.toJS()).toEqual(after);
});

test("reconcileDocument() leaves the given document untouched", () => {
  const document = parseDocument("a: 1\n");
  reconcileDocument(document, { before: { a: 1 }, after: { a: 2, b: 3 } });
  expect(document.toString()).toBe("a: 1\n");
});
