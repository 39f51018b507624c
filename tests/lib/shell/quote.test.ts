import { expect, test } from "bun:test";
import { shellJoin, shellQuote } from "../../../lib/shell/quote.ts";

const cases = [
  { value: "plain", quoted: "plain" },
  { value: "", quoted: "''" },
  { value: "two words", quoted: "'two words'" },
  { value: "it's", quoted: `'it'\\''s'` },
  { value: "$HOME", quoted: "'$HOME'" },
  { value: "`id`", quoted: "'`id`'" },
  { value: "a\nb", quoted: "'a\nb'" },
  { value: "zürich", quoted: "'zürich'" },
  { value: "/usr/bin/env", quoted: "/usr/bin/env" },
];

test.each(cases)("shellQuote() quotes $value so the shell reads it back unchanged", async ({ value, quoted }) => {
  expect(shellQuote(value)).toBe(quoted);
  const child = Bun.spawn(["sh", "-c", `printf %s ${shellQuote(value)}`], { stdout: "pipe" });
  expect(await new Response(child.stdout).text()).toBe(value);
});

test("shellJoin() quotes each word", () => {
  expect(shellJoin(["echo", "a b", "c"])).toBe("echo 'a b' c");
});
