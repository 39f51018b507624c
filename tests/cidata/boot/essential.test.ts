// cidata/boot/essential/*.sh, each run through boot.sh in a fake root (see boot-fixture.ts).
import { describe, expect, test } from "bun:test";
import { makeBootFixture } from "./boot-fixture.ts";

describe("essential/00-check-user.sh", () => {
  test.each([
    { name: "accepts the user with the expected uid", passwd: "tester:x:1000:1000::/home/tester.guest:/bin/bash\n", wantExit: 0, wantLog: "DEN| user tester has uid 1000\n" },
    { name: "rejects the user with another uid", passwd: "tester:x:1001:1001::/home/tester.guest:/bin/bash\n", wantExit: 1, wantLog: "DEN| WARNING user tester has uid 1001, expected 1000\n" },
    { name: "does not take a user whose name only starts alike", passwd: "tester2:x:1000:1000::/home/t:/bin/bash\n", wantExit: 1, wantLog: "DEN| WARNING user tester does not exist" },
    { name: "reports a missing user it cannot create in a fake root", passwd: "root:x:0:0::/root:/bin/bash\n", wantExit: 1, wantLog: "DEN| WARNING user tester does not exist" },
  ])("00-check-user.sh $name", async ({ passwd, wantExit, wantLog }) => {
    await using fx = makeBootFixture({ scripts: ["boot/essential/00-check-user.sh"], rootFiles: { "etc/passwd": passwd } });
    const run = fx.boot();
    expect(run.exitCode).toBe(wantExit);
    expect(run.console).toContain(wantLog);
    if (wantExit !== 0) expect(run.console).toContain("DEN| WARNING boot/essential/00-check-user.sh failed (exit 1)\n");
  });
});

describe("essential/01-root-sudoers.sh", () => {
  test.each([
    { name: "lets root sudo on Alpine", rootFiles: { "etc/alpine-release": "3.20.0\n" }, want: "root ALL=(ALL) NOPASSWD:ALL\n" },
    { name: "keeps an existing rule on Alpine", rootFiles: { "etc/alpine-release": "3.20.0\n", "etc/sudoers.d/00-root-user": "# mine\n" }, want: "# mine\n" },
    { name: "does nothing elsewhere", rootFiles: {}, want: undefined },
  ])("01-root-sudoers.sh $name", async ({ rootFiles, want }) => {
    await using fx = makeBootFixture({ scripts: ["boot/essential/01-root-sudoers.sh"], rootFiles });
    expect(fx.boot().exitCode).toBe(0);
    expect(fx.read("etc/sudoers.d/00-root-user")).toBe(want);
  });
});
