import { expect, test } from "bun:test";
import type { DenYaml } from "../../../lib/config/schema.ts";
import { validateConfig } from "../../../lib/config/validate.ts";
import { filledConfig } from "../../cidata/seed-fixture.ts";

function userIssues(user: NonNullable<DenYaml["user"]>) {
  return validateConfig(filledConfig({ user })).filter((issue) => issue.path[0] === "user");
}

test("validateConfig() accepts the filled default user", () => {
  expect(userIssues({})).toEqual([]);
});

test.each([
  { name: "a shell with a line break", user: { shell: "/bin/sh\nx" }, field: "shell", message: 'Must not contain ":" or control characters, got "/bin/sh\\nx"' },
  { name: "a relative shell", user: { shell: "bash" }, field: "shell", message: 'Must be an absolute path in the guest, got "bash"' },
  { name: "a home with a colon", user: { home: "/home/a:b" }, field: "home", message: 'Must not contain ":" or control characters, got "/home/a:b"' },
  { name: "a relative home", user: { home: "home/den" }, field: "home", message: 'Must be an absolute path in the guest, got "home/den"' },
  { name: "a comment with a line break", user: { comment: "Den\nUSER=root" }, field: "comment", message: 'Must not contain control characters such as a line break, got "Den\\nUSER=root"' },
])("validateConfig() refuses $name, naming the field", ({ user, field, message }) => {
  expect(userIssues(user)).toEqual([expect.objectContaining({ path: ["user", field], message })]);
});
