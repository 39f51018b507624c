import { describe, expect, test } from "bun:test";
import { type VirtiofsdCommandInput, virtiofsdCandidates, virtiofsdCommand, virtiofsdFlavour } from "../../../lib/mounts/virtiofsd-command.ts";

describe("virtiofsdFlavour", () => {
  test.each([
    { name: "QEMU 7.2's daemon", output: "virtiofsd version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022", want: "c" },
    { name: "the Rust daemon", output: "virtiofsd 1.13.1\n", want: "rust" },
    { name: "no output", output: "", want: "rust" },
  ])("virtiofsdFlavour() of $name is $want", ({ output, want }) => {
    expect(virtiofsdFlavour(output)).toBe(want);
  });
});

describe("virtiofsdCandidates", () => {
  test("virtiofsdCandidates() tries PATH and the Rust daemon's folders before QEMU's C daemon", () => {
    const candidates = virtiofsdCandidates({ PATH: "/usr/local/bin" });
    expect(candidates[0]).toBe("/usr/local/bin/virtiofsd");
    expect(candidates.indexOf("/usr/libexec/virtiofsd")).toBeLessThan(candidates.indexOf("/usr/lib/qemu/virtiofsd"));
  });
});

describe("virtiofsdCommand", () => {
  const common = { socketPath: "/i/virtiofsd-0.sock", location: "/home/me/a b", guest: { uid: 1000, gid: 1000 } };
  test.each<{ name: string; input: VirtiofsdCommandInput; want: string[] }>([
    {
      name: "the C daemon in a user namespace",
      input: { ...common, binary: { path: "/usr/lib/qemu/virtiofsd", flavour: "c" as const }, unshare: "/usr/bin/unshare" },
      want: ["/usr/bin/unshare", "--user", "--map-user=1000", "--map-group=1000", "--keep-caps", "--", "/usr/lib/qemu/virtiofsd", "--socket-path=/i/virtiofsd-0.sock", "-o", "source=/home/me/a b", "-o", "cache=auto"],
    },
    {
      name: "the Rust daemon without unshare",
      input: { ...common, binary: { path: "/usr/libexec/virtiofsd", flavour: "rust" as const }, unshare: undefined },
      want: ["/usr/libexec/virtiofsd", "--socket-path=/i/virtiofsd-0.sock", "--shared-dir=/home/me/a b", "--cache=auto", "--sandbox=chroot"],
    },
  ])("virtiofsdCommand() runs $name", ({ input, want }) => {
    expect(virtiofsdCommand(input)).toEqual(want);
  });
});
