import { describe, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DenError } from "../../../lib/errors.ts";
import { parseOpensshVersion, renderSshConfig, type SshOption, sshArgs, sshOptions } from "../../../lib/ssh/ssh-options.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

const base = { identityFile: "/home/me/.den/_config/user", user: "me", controlPath: "/home/me/.den/default/ssh.sock", port: 60022 };
const v92 = { major: 9, minor: 2, patch: 1 };

function valueOf(options: SshOption[], key: string): string | undefined {
  return options.find(([k]) => k === key)?.[1];
}

describe("sshOptions()", () => {
  test("sshOptions() lists Lima's options in Lima's order", () => {
    expect(sshOptions({ ...base, opensshVersion: v92, hostHasAesNi: true })).toEqual([
      ["IdentityFile", "/home/me/.den/_config/user"],
      ["StrictHostKeyChecking", "no"],
      ["UserKnownHostsFile", "/dev/null"],
      ["NoHostAuthenticationForLocalhost", "yes"],
      ["PreferredAuthentications", "publickey"],
      ["Compression", "no"],
      ["BatchMode", "yes"],
      ["IdentitiesOnly", "yes"],
      ["GSSAPIAuthentication", "no"],
      ["Ciphers", "^aes128-gcm@openssh.com,aes256-gcm@openssh.com"],
      ["User", "me"],
      ["ControlMaster", "auto"],
      ["ControlPath", "/home/me/.den/default/ssh.sock"],
      ["ControlPersist", "yes"],
      ["Hostname", "127.0.0.1"],
      ["Port", "60022"],
      ["LogLevel", "ERROR"],
    ]);
  });

  test.each([
    { name: "AES-NI on 9.2", version: v92, aes: true, ciphers: "^aes128-gcm@openssh.com,aes256-gcm@openssh.com", logLevel: "ERROR" },
    { name: "no AES-NI on 9.2", version: v92, aes: false, ciphers: "^chacha20-poly1305@openssh.com", logLevel: "ERROR" },
    { name: "AES-NI unknown on 9.2", version: v92, aes: undefined, ciphers: "^chacha20-poly1305@openssh.com", logLevel: "ERROR" },
    { name: "8.9 exactly", version: { major: 8, minor: 9, patch: 0 }, aes: true, ciphers: "^aes128-gcm@openssh.com,aes256-gcm@openssh.com", logLevel: "ERROR" },
    { name: "8.8", version: { major: 8, minor: 8, patch: 1 }, aes: false, ciphers: "^chacha20-poly1305@openssh.com", logLevel: "QUIET" },
    { name: "8.1 exactly", version: { major: 8, minor: 1, patch: 0 }, aes: true, ciphers: "^aes128-gcm@openssh.com,aes256-gcm@openssh.com", logLevel: "QUIET" },
    { name: "8.0", version: { major: 8, minor: 0, patch: 1 }, aes: true, ciphers: undefined, logLevel: "QUIET" },
    { name: "7.4", version: { major: 7, minor: 4, patch: 1 }, aes: true, ciphers: undefined, logLevel: "QUIET" },
    { name: "10.0", version: { major: 10, minor: 0, patch: 0 }, aes: false, ciphers: "^chacha20-poly1305@openssh.com", logLevel: "ERROR" },
    { name: "an unknown version", version: undefined, aes: true, ciphers: undefined, logLevel: "QUIET" },
  ])("sshOptions() picks Ciphers and LogLevel for $name", ({ version, aes, ciphers, logLevel }) => {
    const options = sshOptions({ ...base, opensshVersion: version, hostHasAesNi: aes });
    expect(valueOf(options, "Ciphers")).toBe(ciphers);
    expect(valueOf(options, "LogLevel")).toBe(logLevel);
  });

  test.each([
    { name: "true", forwardAgent: true, want: "yes" },
    { name: "false", forwardAgent: false, want: undefined },
    { name: "unset", forwardAgent: undefined, want: undefined },
  ])("sshOptions() adds ForwardAgent only when asked ($name)", ({ forwardAgent, want }) => {
    const options = sshOptions({ ...base, forwardAgent });
    expect(valueOf(options, "ForwardAgent")).toBe(want);
    if (want) expect(options.findIndex(([k]) => k === "ForwardAgent")).toBe(options.findIndex(([k]) => k === "ControlPersist") + 1);
  });

  test("sshOptions() doubles % in paths so OpenSSH does not expand them as tokens", () => {
    const options = sshOptions({ ...base, identityFile: "/a%h/user", controlPath: "/a%h/ssh.sock" });
    expect(valueOf(options, "IdentityFile")).toBe("/a%%h/user");
    expect(valueOf(options, "ControlPath")).toBe("/a%%h/ssh.sock");
  });
});

describe("sshArgs()", () => {
  test.each([
    { name: "a plain value", option: ["User", "me"] as const, want: ["-o", "User=me"] },
    { name: "a path with a space", option: ["IdentityFile", "/a b/user"] as const, want: ["-o", 'IdentityFile="/a b/user"'] },
    { name: "a double quote", option: ["IdentityFile", '/a"b/user'] as const, want: ["-o", 'IdentityFile="/a\\"b/user"'] },
    { name: "a backslash", option: ["IdentityFile", "/a\\b/user"] as const, want: ["-o", 'IdentityFile="/a\\\\b/user"'] },
    { name: "a single quote", option: ["IdentityFile", "/it's/user"] as const, want: ["-o", `IdentityFile="/it's/user"`] },
    { name: "a hash", option: ["IdentityFile", "/#x/user"] as const, want: ["-o", 'IdentityFile="/#x/user"'] },
    { name: "unicode", option: ["IdentityFile", "/données/user"] as const, want: ["-o", "IdentityFile=/données/user"] },
    { name: "a cipher list", option: ["Ciphers", "^chacha20-poly1305@openssh.com"] as const, want: ["-o", "Ciphers=^chacha20-poly1305@openssh.com"] },
  ])("sshArgs() renders $name", ({ option, want }) => {
    expect(sshArgs([option])).toEqual([...want]);
  });

  test("sshArgs() refuses a value with a line break, which OpenSSH cannot read", () => {
    expect(() => sshArgs([["IdentityFile", "/a\nb"]])).toThrow(DenError);
  });
});

describe("renderSshConfig()", () => {
  test("renderSshConfig() writes a header, the Host alias and indented options", () => {
    const text = renderSshConfig("default", [
      ["IdentityFile", "/home/me/.den/_config/user"],
      ["ControlPath", "/home/my dir/.den/default/ssh.sock"],
      ["Port", "60022"],
    ]);
    const lines = text.split("\n");
    expect(lines[0]).toStartWith("# ");
    expect(lines[1]).toStartWith("# ");
    expect(lines.slice(2)).toEqual([
      "Host den-default",
      "  IdentityFile /home/me/.den/_config/user",
      '  ControlPath "/home/my dir/.den/default/ssh.sock"',
      "  Port 60022",
      "",
    ]);
  });

  test("renderSshConfig() output is parsed by the real ssh -G as meant", async () => {
    const dir = await makeTempDir("den ssh 'cfg' %h ");
    const identityFile = join(dir, "_config", "user");
    const controlPath = join(dir, "dé fault", "ssh.sock");
    const options = sshOptions({ identityFile, user: "alice", controlPath, port: 60123, opensshVersion: v92, hostHasAesNi: false });
    const file = join(dir, "ssh.config");
    await writeFile(file, renderSshConfig("dé-fault", options));
    const result = Bun.spawnSync(["ssh", "-G", "-F", file, "den-dé-fault"], { stdin: "ignore" });
    expect(result.stderr.toString()).toBe("");
    const seen = new Map<string, string>();
    for (const line of result.stdout.toString().split("\n")) {
      const space = line.indexOf(" ");
      if (space > 0 && !seen.has(line.slice(0, space))) seen.set(line.slice(0, space), line.slice(space + 1));
    }
    expect(seen.get("hostname")).toBe("127.0.0.1");
    expect(seen.get("port")).toBe("60123");
    expect(seen.get("user")).toBe("alice");
    // `ssh -G` expands tokens in ControlPath but prints IdentityFile before its expansion.
    expect(seen.get("identityfile")).toBe(identityFile.replaceAll("%", "%%"));
    expect(seen.get("controlpath")).toBe(controlPath);
    expect(seen.get("batchmode")).toBe("yes");
    expect(seen.get("ciphers")).toStartWith("chacha20-poly1305@openssh.com,");
  });
});

describe("parseOpensshVersion()", () => {
  test.each([
    { name: "Debian's banner", banner: "OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024", want: { major: 9, minor: 2, patch: 1 } },
    { name: "Ubuntu's banner with its line break", banner: "OpenSSH_8.9p1 Ubuntu-3ubuntu0.10, OpenSSL 3.0.2 15 Mar 2022\n", want: { major: 8, minor: 9, patch: 1 } },
    { name: "macOS's banner", banner: "OpenSSH_9.8p1, LibreSSL 3.3.6", want: { major: 9, minor: 8, patch: 1 } },
    { name: "Windows' banner", banner: "OpenSSH_for_Windows_8.6p1, LibreSSL 3.4.3", want: { major: 8, minor: 6, patch: 1 } },
    { name: "a version without a portable release", banner: "OpenSSH_10.0", want: { major: 10, minor: 0, patch: 0 } },
    { name: "another SSH as unknown", banner: "Sun_SSH_1.1", want: undefined },
    { name: "an empty banner as unknown", banner: "", want: undefined },
  ])("parseOpensshVersion() reads $name", ({ banner, want }) => {
    expect(parseOpensshVersion(banner)).toEqual(want);
  });

  test("parseOpensshVersion() reads this machine's ssh -V", () => {
    const banner = Bun.spawnSync(["ssh", "-V"]).stderr.toString();
    expect(parseOpensshVersion(banner)?.major).toBeGreaterThanOrEqual(7);
  });
});
