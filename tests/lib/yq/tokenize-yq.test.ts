import { expect, test } from "bun:test";
import { type Token, tokenizeYq } from "../../../lib/yq/tokenize-yq.ts";
import { expectYqError } from "./support/expect-yq-error.ts";

/** A token as `kind:value@pos`. */
function shape(token: Token): string {
  return `${token.kind}:${JSON.stringify(token.value)}@${token.pos}`;
}

test.each([
  { expr: ".a.b", expected: ['field:"a"@0', 'field:"b"@2', 'end:""@4'] },
  { expr: ".mount-type", expected: ['field:"mount-type"@0', 'end:""@11'] },
  { expr: ".[0]", expected: ['dot:"."@0', 'punct:"["@1', "number:0@2", 'punct:"]"@3', 'end:""@4'] },
  { expr: "[-1, 2.5e1]", expected: ['punct:"["@0', "number:-1@1", 'punct:","@3', "number:25@5", 'punct:"]"@10', 'end:""@11'] },
  { expr: ".a and -1", expected: ['field:"a"@0', 'word:"and"@3', "number:-1@7", 'end:""@9'] },
  { expr: ".a |= .b", expected: ['field:"a"@0', 'punct:"|="@3', 'field:"b"@6', 'end:""@8'] },
  { expr: 'has("k")', expected: ['word:"has"@0', 'punct:"("@3', 'string:"k"@4', 'punct:")"@7', 'end:""@8'] },
  { expr: '"a\\"b\\n\\u00e9\\\\"', expected: ['string:"a\\"b\\né\\\\"@0', 'end:""@16'] },
  { expr: "  ", expected: ['end:""@2'] },
])("tokenizeYq() splits $expr", ({ expr, expected }) => {
  expect(tokenizeYq(expr).map(shape)).toEqual([...expected]);
});

test("tokenizeYq() keeps each token as written, for messages", () => {
  expect(tokenizeYq('.a == "x"').map((token) => token.text)).toEqual([".a", "==", '"x"', ""]);
});

test.each([
  { expr: ".a = 'x'", reason: "single-quoted strings are not supported at column 6" },
  { expr: '"abc', reason: "unterminated string at column 1" },
  { expr: '.a = "\\q"', reason: 'invalid escape "\\q" in string at column 7' },
  { expr: ".a - 1", reason: 'operator "-" is not supported at column 4' },
  { expr: ".a // 1", reason: 'operator "//" is not supported at column 4' },
  { expr: ".a * .b", reason: 'operator "*" is not supported at column 4' },
  { expr: ".a as $x", reason: 'operator "$" is not supported at column 7' },
  { expr: ".a # c", reason: 'unexpected character "#" at column 4' },
])("tokenizeYq() rejects $expr", ({ expr, reason }) => {
  const error = expectYqError(() => tokenizeYq(expr), `Cannot evaluate yq expression "${expr}": ${reason}`);
  expect(error.hint).toContain("den supports a subset of yq; see README");
});

test("tokenizeYq() tells to use double quotes for a single-quoted string", () => {
  const error = expectYqError(() => tokenizeYq("'x'"), 'Cannot evaluate yq expression "\'x\'": single-quoted strings are not supported at column 1');
  expect(error.hint).toBe("use double quotes; den supports a subset of yq; see README");
});
