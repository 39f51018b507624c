import { expect, test } from "bun:test";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../../../lib/errors.ts";
import { sshOptions } from "../../../lib/ssh/ssh-options.ts";
import { writeSshConfig } from "../../../lib/ssh/write-ssh-config.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

async function instanceFolder(): Promise<string> {
  const dir = join(await makeTempDir("den-sshcfg-"), "default");
  await mkdir(dir, { mode: 0o700 });
  return dir;
}

const options = sshOptions({ identityFile: "/h/.den/_config/user", user: "me", controlPath: "/h/.den/default/ssh.sock", port: 60022 });

test("writeSshConfig() writes ssh.config with mode 0600 and the folder's Host alias", async () => {
  const dir = await instanceFolder();
  const path = await writeSshConfig(dir, options);
  expect(path).toBe(join(dir, "ssh.config"));
  expect((await stat(path)).mode & 0o777).toBe(0o600);
  const text = await readFile(path, "utf8");
  expect(text).toContain("\nHost den-default\n");
  expect(text).toContain("\n  Port 60022\n");
  expect(await readdir(dir)).toEqual(["ssh.config"]);
});

test("writeSshConfig() replaces an older file, which keeps mode 0600", async () => {
  const dir = await instanceFolder();
  await writeFile(join(dir, "ssh.config"), "old", { mode: 0o644 });
  const path = await writeSshConfig(dir, options);
  expect(await readFile(path, "utf8")).not.toBe("old");
  expect((await stat(path)).mode & 0o777).toBe(0o600);
});

test("writeSshConfig() reports a missing instance folder as a DenError", async () => {
  const dir = join(await makeTempDir("den-sshcfg-"), "missing");
  const error = await writeSshConfig(dir, options).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(DenError);
  expect((error as DenError).code).toBe("IO");
  expect((error as DenError).message).toStartWith(`Cannot write "${join(dir, "ssh.config")}": `);
});
