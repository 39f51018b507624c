import { describe, expect, test } from "bun:test";
import { findSftpServer, sftpServerArgs, sftpServerCandidates } from "../../../lib/mounts/find-sftp-server.ts";

describe("sftpServerCandidates", () => {
  test("sftpServerCandidates() searches PATH first, then the usual libexec folders without duplicates", () => {
    const candidates = sftpServerCandidates({ PATH: "/opt/bin:/usr/lib/openssh" });
    expect(candidates.slice(0, 2)).toEqual(["/opt/bin/sftp-server", "/usr/lib/openssh/sftp-server"]);
    expect(candidates).toContain("/usr/libexec/sftp-server");
    expect(candidates).toContain("/usr/lib/ssh/sftp-server");
    expect(candidates.filter((path) => path === "/usr/lib/openssh/sftp-server")).toHaveLength(1);
  });
});

describe("findSftpServer", () => {
  test.each<{ name: string; present: string[]; want: string | undefined }>([
    { name: "Debian's", present: ["/usr/lib/openssh/sftp-server"], want: "/usr/lib/openssh/sftp-server" },
    { name: "macOS's", present: ["/usr/libexec/sftp-server"], want: "/usr/libexec/sftp-server" },
    { name: "Arch's", present: ["/usr/lib/ssh/sftp-server"], want: "/usr/lib/ssh/sftp-server" },
    { name: "Fedora's", present: ["/usr/libexec/openssh/sftp-server"], want: "/usr/libexec/openssh/sftp-server" },
    { name: "no", present: [], want: undefined },
  ])("findSftpServer() finds $name sftp-server", ({ present, want }) => {
    expect(findSftpServer({ env: { PATH: "/usr/bin" }, isExecutable: (path) => present.includes(path) })).toBe(want);
  });
});

describe("sftpServerArgs", () => {
  test.each<{ writable: boolean; want: string[] }>([
    { writable: true, want: ["-e", "-d", "/home/a b"] },
    { writable: false, want: ["-e", "-d", "/home/a b", "-R"] },
  ])("sftpServerArgs() for writable $writable is $want", ({ writable, want }) => {
    expect(sftpServerArgs("/home/a b", { writable })).toEqual(want);
  });
});
