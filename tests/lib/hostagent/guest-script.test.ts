import { expect, test } from "bun:test";
import { guestScriptCommand, MaxGuestScriptBytes, scriptInterpreter } from "../../../lib/hostagent/guest-script.ts";
import { run } from "../../../lib/process/run.ts";
import { caughtDenError } from "../../support/caught-den-error.ts";

test.each([
  { name: "a plain shell", script: "#!/bin/sh\ntrue\n", interpreter: "/bin/sh" },
  { name: "options after the shell", script: "#!/bin/bash -eux\ntrue\n", interpreter: "/bin/bash -eux" },
  { name: "env and a language", script: "#!/usr/bin/env python3\nprint(1)\n", interpreter: "/usr/bin/env python3" },
  { name: "spaces around", script: "#!  /bin/sh  \n", interpreter: "/bin/sh" },
])("scriptInterpreter() reads $name from the #! line", ({ script, interpreter }) => {
  expect(scriptInterpreter(script)).toBe(interpreter);
});

test.each([
  { name: "no #! line", script: "echo hi\n" },
  { name: "an empty #! line", script: "#!\necho hi\n" },
  { name: "an empty script", script: "" },
])("scriptInterpreter() refuses $name", ({ script }) => {
  expect(() => scriptInterpreter(script)).toThrow("names no interpreter");
});

test("guestScriptCommand() exports the params from the seed only when asked", () => {
  expect(guestScriptCommand("#!/bin/sh\ntrue\n", { exportParams: false })).toBe("printf %s IyEvYmluL3NoCnRydWUK | base64 -d | /bin/sh -c 'exec /bin/sh'");
  expect(guestScriptCommand("#!/bin/sh\ntrue\n", { exportParams: true })).toBe(
    `printf %s IyEvYmluL3NoCnRydWUK | base64 -d | /bin/sh -c 'set -a; eval "$(sudo -n cat /mnt/den-cidata/param.env 2>/dev/null)"; set +a; exec /bin/sh'`,
  );
});

test.each([
  { name: "a shell script", script: "#!/bin/sh\necho \"it's $((1 + 1))\"\nexit 3\n", stdout: "it's 2\n", code: 3 },
  { name: "bash options and quotes", script: "#!/bin/bash -eu\nx='a \"b\" $c'\necho \"$x\"\n", stdout: 'a "b" $c\n', code: 0 },
  { name: "an interpreter found through env", script: "#!/usr/bin/env sh\nread -r line || true\necho \"stdin after the script: [$line]\"\n", stdout: "stdin after the script: []\n", code: 0 },
])("guestScriptCommand() runs $name through a POSIX shell with the script on stdin", async ({ script, stdout, code }) => {
  const result = await run(["sh", "-c", guestScriptCommand(script, { exportParams: false })]);
  expect({ stdout: result.stdout, code: result.code }).toEqual({ stdout, code });
});

test("guestScriptCommand() refuses a script over the command-line limit", () => {
  const error = caughtDenError(() => guestScriptCommand(`#!/bin/sh\n${"#".repeat(MaxGuestScriptBytes)}\n`, { exportParams: false }));
  expect(error.code).toBe("FILE_TOO_LARGE");
});
