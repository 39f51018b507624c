import { expect, test } from "bun:test";
import { readdir } from "node:fs/promises";
import { makeInstance } from "../store/support/fake-instance.ts";
import { makeDenHome, runDen } from "./support/run-den.ts";

test.each([{ verb: "delete" }, { verb: "remove" }, { verb: "rm" }])("den $verb removes a stopped instance", async ({ verb }) => {
  const denHome = await makeDenHome();
  await makeInstance(denHome, "vm");
  const run = await runDen([verb, "vm"], { denHome });
  expect(run.exitCode).toBe(0);
  expect(await readdir(denHome)).toEqual([]);
});

test("den delete refuses a protected instance until it is unprotected", async () => {
  const denHome = await makeDenHome();
  await makeInstance(denHome, "vm");
  expect((await runDen(["protect", "vm"], { denHome })).exitCode).toBe(0);
  const refused = await runDen(["delete", "vm"], { denHome });
  expect(refused.exitCode).toBe(1);
  expect(refused.stderr).toBe('error: Cannot delete instance "vm": it is protected\nhint: unprotect it first: den unprotect vm\n');
  expect((await runDen(["unprotect", "vm"], { denHome })).exitCode).toBe(0);
  expect((await runDen(["delete", "vm"], { denHome })).exitCode).toBe(0);
});
