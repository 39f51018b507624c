import { expect, test } from "bun:test";
import { parseDocument } from "yaml";
import { markRemoteMounts, type RemoteShare, remoteShares, sharesAfterEdits } from "../../../lib/config/remote-shares.ts";
import { DenError } from "../../../lib/errors.ts";

const url = "https://t.test/t.yaml";
const host = { home: "/home/u", denHome: "/home/u/.den" };

function marked(text: string, document = url) {
  const parsed = parseDocument(text);
  markRemoteMounts(parsed, { template: url, document });
  return parsed;
}

test("remoteShares() reports nothing for unmarked mounts, whatever they share", () => {
  expect(remoteShares(parseDocument("mounts:\n- location: /\n  writable: true\n"), host)).toEqual([]);
});

test("remoteShares() reports marked mounts as written, with their mode", () => {
  const document = marked('mounts:\n- location: "~"\n- location: /tmp/lima\n  writable: true\n- location: /srv\n  writable: false\n- writable: true\n');
  expect(remoteShares(document, host)).toEqual([
    { template: url, location: "~", writable: false },
    { template: url, location: "/tmp/lima", writable: true },
    { template: url, location: "/srv", writable: false },
  ]);
});

test.each([
  { name: "/ from a remote document", text: "mounts:\n- location: /\n", document: url, refused: true },
  { name: "DEN_HOME writable (inside the home folder too)", text: "mounts:\n- location: /home/u/.den\n  writable: true\n", document: url, refused: true },
  { name: "/home writable", text: "mounts:\n- location: /home/\n  writable: true\n", document: url, refused: true },
  { name: "/homework writable (beside the home folder, not in it)", text: "mounts:\n- location: /homework\n  writable: true\n", document: url, refused: false },
  { name: "/ from a template: base of a remote template", text: "mounts:\n- location: /\n", document: "template:mine", refused: false },
])("remoteShares() for $name: refused is $refused", ({ text, document, refused }) => {
  const run = () => remoteShares(marked(text, document), host);
  if (refused) expect(run).toThrow(DenError);
  else expect(run()).toHaveLength(1);
});

test("remoteShares() guards a DEN_HOME given with a trailing slash", () => {
  expect(() => remoteShares(marked("mounts:\n- location: /srv/den\n  writable: true\n"), { home: "/home/u/", denHome: "/srv/den/" })).toThrow('"/srv/den", DEN_HOME');
});

test("remoteShares() without a home folder still guards ~", () => {
  expect(() => remoteShares(marked('mounts:\n- location: "~/x"\n  writable: true\n'), {})).toThrow('lets the guest write to "~/x", a folder in your home folder');
});

const shares: RemoteShare[] = [
  { template: url, location: "~", writable: false },
  { template: url, location: "/tmp/lima", writable: true },
];

test.each([
  { name: "keeps shares still named, with their mode now", config: { mounts: [{ location: "/x" }, { location: "~", writable: true }, { location: "/tmp/lima" }] }, want: [
    { template: url, location: "~", writable: true },
    { template: url, location: "/tmp/lima", writable: false },
  ] },
  { name: "drops all when mounts is null (--mount-none)", config: { mounts: null }, want: [] },
  { name: "drops all for something that is not a configuration", config: "mounts", want: [] },
])("sharesAfterEdits() $name", ({ config, want }) => {
  expect(sharesAfterEdits(shares, config)).toEqual([...want]);
});
