import { expect, test } from "bun:test";
import { stat } from "node:fs/promises";
import { ensureUserKey } from "../../../lib/ssh/user-key.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

test("ensureUserKey() makes an ed25519 pair that ssh-keygen accepts, with a private mode", async () => {
  const home = await makeTempDir("den-key-");
  const key = await ensureUserKey(home);
  expect(key.publicKey).toStartWith("ssh-ed25519 ");
  expect((await stat(key.privateKeyPath)).mode & 0o777).toBe(0o600);
  const derived = Bun.spawnSync(["ssh-keygen", "-y", "-f", key.privateKeyPath]).stdout.toString().trim();
  expect(key.publicKey.startsWith(derived)).toBe(true);
});

test.each([1, 2, 3, 4, 5, 6, 7, 8])("ensureUserKey() returns the same pair on later calls, even when raced (round %i)", async () => {
  const home = await makeTempDir("den-key-");
  const keys = await Promise.all([ensureUserKey(home), ensureUserKey(home), ensureUserKey(home), ensureUserKey(home)]);
  const again = await ensureUserKey(home);
  for (const key of keys) expect(key.publicKey).toBe(again.publicKey);
});

test("ensureUserKey() always writes a key OpenSSH can read (ssh2 sometimes drops a zero byte)", async () => {
  // 64 fresh homes make a bad first draw from ssh2's generator likely (each has a 1 in 256 chance).
  const homes = await Promise.all(Array.from({ length: 64 }, () => makeTempDir("den-key-")));
  for (const home of homes) {
    const key = await ensureUserKey(home);
    expect(key.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} den$/);
  }
});
