// den's own SSH key pair, `$DEN_HOME/_config/user` and `user.pub`, made on first use and shared by every
// instance (as Lima does). Made with ssh2's key generator, so no ssh-keygen is needed.
import { randomUUID } from "node:crypto";
import { chmod, link, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { utils } from "ssh2";
import { DenError } from "../errors.ts";
import { ensurePrivateDir } from "../store/dirs.ts";
import { ConfigDir, UserPrivateKey, UserPublicKey } from "../store/filenames.ts";

export interface UserKey {
  privateKeyPath: string;
  publicKey: string;
}

/** Returns den's key pair, creating it when missing. Safe when two den processes race to create it. */
export async function ensureUserKey(home: string): Promise<UserKey> {
  const dir = join(home, ConfigDir);
  const privateKeyPath = join(dir, UserPrivateKey);
  const publicKeyPath = join(dir, UserPublicKey);
  // Also tightens a _config an older den made under a permissive umask.
  await ensurePrivateDir(dir);
  const existing = await publicKeyOf(privateKeyPath);
  if (existing) return { privateKeyPath, publicKey: existing };

  const pair = generateParsableKeyPair();
  // Unique per call: two calls of one process in the same millisecond shared a name, wrote over each other's pair and
  // could each return a different key.
  const suffix = `.tmp.${process.pid}.${randomUUID()}`;
  await writeFile(privateKeyPath + suffix, pair.private, { mode: 0o600 });
  await writeFile(publicKeyPath + suffix, `${pair.public}\n`, { mode: 0o644 });
  try {
    // link() refuses to replace an existing file: whoever links the private key first wins,
    // and the loser reads the winner's pair instead of overwriting it.
    await link(privateKeyPath + suffix, privateKeyPath);
    await rm(publicKeyPath, { force: true });
    await link(publicKeyPath + suffix, publicKeyPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    await rm(privateKeyPath + suffix, { force: true });
    await rm(publicKeyPath + suffix, { force: true });
  }
  await chmod(privateKeyPath, 0o600);
  const publicKey = await publicKeyOf(privateKeyPath);
  if (!publicKey) {
    throw new DenError("IO", `Cannot read den's public key "${publicKeyPath}"`, { hint: `remove ${privateKeyPath} and run den again to make a new pair` });
  }
  return { privateKeyPath, publicKey };
}

/**
 * The public key derived from the private key file: the private key is the one source of truth, so a
 * reader racing a writer of `user.pub` never sees a half-made pair.
 */
async function publicKeyOf(privateKeyPath: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(privateKeyPath, "utf8");
  } catch {
    return undefined;
  }
  const parsed = utils.parseKey(text);
  if (parsed instanceof Error || Array.isArray(parsed)) {
    throw new DenError("IO", `Cannot read den's SSH key "${privateKeyPath}": ${parsed instanceof Error ? parsed.message : "several keys in one file"}`, {
      hint: `remove ${privateKeyPath} and run den again to make a new pair`,
    });
  }
  return `${parsed.type} ${parsed.getPublicSSH().toString("base64")} den`;
}

/**
 * ssh2's generator drops a leading zero byte of the ed25519 public key (about 1 key in 256), writing a key that
 * neither ssh2 nor OpenSSH can read back. Such a pair is thrown away and another one made.
 */
export function generateParsableKeyPair(): { private: string; public: string } {
  for (let attempt = 0; attempt < 16; attempt++) {
    const pair = utils.generateKeyPairSync("ed25519", { comment: "den" });
    const parsed = utils.parseKey(pair.private);
    if (!(parsed instanceof Error) && !Array.isArray(parsed) && parsed.getPublicSSH().length === 51) return pair;
  }
  throw new DenError("INTERNAL", "Cannot generate an ed25519 key pair that parses back");
}
