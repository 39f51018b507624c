import { expect, test } from "bun:test";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { opensshVersion } from "../../../lib/ssh/openssh-version.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

test("opensshVersion() reads the banner ssh -V prints on stderr, once per process", async () => {
  const dir = await makeTempDir("den-sshv-");
  const fake = join(dir, "ssh");
  await writeFile(fake, '#!/bin/sh\necho "OpenSSH_8.4p1 Debian-5, OpenSSL 1.1.1n" >&2\n');
  await chmod(fake, 0o755);
  const first = opensshVersion([fake]);
  expect(await first).toEqual({ major: 8, minor: 4, patch: 1 });
  // The cached answer stands even when asked about another program.
  expect(opensshVersion(["/nonexistent/ssh"])).toBe(first);
});
