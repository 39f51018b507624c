import { expect, test } from "bun:test";
import { parseDocument } from "yaml";
import { appendTopLevelKey } from "../../../lib/config/append-top-level-key.ts";

test.each([
  { name: "a block mapping", text: "cpus: 2\nmemory: 4GiB\n", expected: 'cpus: 2\nmemory: 4GiB\nvmType: qemu\n' },
  { name: "a block mapping without a final newline", text: "cpus: 2", expected: 'cpus: 2\nvmType: qemu\n' },
  { name: "a mapping after a comment and a document start", text: "# mine\n---\ncpus: 2\n# trailing\n", expected: '# mine\n---\ncpus: 2\n# trailing\nvmType: qemu\n' },
  { name: "a mapping ending in a nested block list", text: "mounts:\n- location: ~\n  writable: true\n", expected: 'mounts:\n- location: ~\n  writable: true\nvmType: qemu\n' },
  { name: "a value YAML must quote", text: "cpus: 2\n", value: "a: b", expected: 'cpus: 2\nvmType: "a: b"\n' },
  { name: "a flow mapping", text: "{cpus: 2}\n", expected: undefined },
  { name: "an indented top-level mapping", text: "  cpus: 2\n  memory: 4GiB\n", expected: undefined },
  { name: "a document end marker", text: "cpus: 2\n...\n", expected: undefined },
  { name: "the key already set", text: "vmType: vz\n", expected: undefined },
  { name: "an empty document", text: "", expected: undefined },
])("appendTopLevelKey() on $name", ({ text, expected, value = "qemu" }: { text: string; expected: string | undefined; value?: string }) => {
  const appended = appendTopLevelKey(text, parseDocument(text), { key: "vmType", value });
  expect(appended).toBe(expected);
  if (appended !== undefined) expect(parseDocument(appended).toJS()).toEqual({ ...(parseDocument(text).toJS() ?? {}), vmType: value });
});
