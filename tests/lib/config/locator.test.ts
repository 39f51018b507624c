import { expect, test } from "bun:test";
import { guessImageArch, instanceNameFromLocator, type Locator, parseLocator } from "../../../lib/config/locator.ts";
import { caughtDenError } from "../../support/caught-den-error.ts";

const options = { cwd: "/work/dir", home: "/home/u" };

interface ParseRow {
  text: string;
  want: Locator;
}

const parseRows: ParseRow[] = [
  { text: "-", want: { kind: "stdin" } },
  { text: "template:docker", want: { kind: "template", name: "docker", file: "docker.yaml" } },
  { text: "template:docker.yaml", want: { kind: "template", name: "docker", file: "docker.yaml" } },
  { text: "template:_images/ubuntu-24.04", want: { kind: "template", name: "_images/ubuntu-24.04", file: "_images/ubuntu-24.04.yaml" } },
  { text: "template:experimental/gentoo", want: { kind: "template", name: "experimental/gentoo", file: "experimental/gentoo.yaml" } },
  { text: "template:custom.yml", want: { kind: "template", name: "custom.yml", file: "custom.yml" } },
  {
    text: "template://fedora",
    want: {
      kind: "template",
      name: "fedora",
      file: "fedora.yaml",
      warning: 'Template locator "template://fedora" uses the deprecated template:// form; write "template:fedora"',
    },
  },
  { text: "https://example.com/den.yaml", want: { kind: "url", url: "https://example.com/den.yaml" } },
  { text: "http://example.com/x", want: { kind: "url", url: "http://example.com/x" } },
  { text: "file:///etc/den/t.yaml", want: { kind: "file", path: "/etc/den/t.yaml" } },
  { text: "/abs/t.yaml", want: { kind: "file", path: "/abs/t.yaml" } },
  { text: "t.yaml", want: { kind: "file", path: "/work/dir/t.yaml" } },
  { text: "../up/t.yaml", want: { kind: "file", path: "/work/up/t.yaml" } },
  { text: "~/t.yaml", want: { kind: "file", path: "/home/u/t.yaml" } },
  {
    text: "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-arm64.img",
    want: { kind: "image", url: "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-arm64.img", arch: "aarch64" },
  },
  { text: "./disk.qcow2.xz", want: { kind: "image", url: "/work/dir/disk.qcow2.xz" } },
  { text: "file:///images/alpine-x86_64.iso", want: { kind: "image", url: "/images/alpine-x86_64.iso", arch: "x86_64" } },
];

test.each(parseRows)("parseLocator($text)", ({ text, want }) => {
  expect(parseLocator(text, options)).toEqual(want);
});

test.each([
  { text: "" },
  { text: "template:" },
  { text: "template:../etc/passwd" },
  { text: "template:a/../../b" },
  { text: "file:relative.yaml" },
  { text: "github:lima-vm/lima" },
])("parseLocator() rejects $text", ({ text }) => {
  expect(caughtDenError(() => parseLocator(text, options)).code).toBe("LOCATOR_INVALID");
});

test.each([
  { name: "an invalid 10,000-character template name", text: `template:${"a/../".repeat(2000)}` },
  { name: "a github: locator with an escape sequence", text: `github:\u001b[2J${"x".repeat(10_000)}` },
  { name: "a relative file URL", text: `file:${"r".repeat(10_000)}` },
])("parseLocator() quotes $name as a short escaped excerpt", ({ text }) => {
  const { message } = caughtDenError(() => parseLocator(text, options));
  expect(message.length).toBeLessThan(500);
  expect(message).not.toContain("\u001b");
});

interface NameRow {
  text: string;
  hostArch?: string;
  want: string | undefined;
}

const nameRows: NameRow[] = [
  { text: "template:docker", want: "docker" },
  { text: "template:_images/ubuntu-24.04", want: "ubuntu-24.04" },
  { text: "template:experimental/Gentoo", want: "gentoo" },
  { text: "./My-VM.yaml", want: "my-vm" },
  { text: "https://example.com/path/dev.yml?x=1", want: "dev" },
  { text: "-", want: undefined },
  {
    text: "https://cloud-images.ubuntu.com/releases/noble/release-20250430/ubuntu-24.04-server-cloudimg-amd64.img",
    hostArch: "x86_64",
    want: "ubuntu-24.04-amd64",
  },
  {
    text: "https://download.fedoraproject.org/pub/fedora/linux/releases/42/Cloud/x86_64/images/Fedora-Cloud-Base-Generic-42-1.1.x86_64.qcow2",
    hostArch: "x86_64",
    want: "fedora-42-1.1",
  },
  {
    text: "https://download.fedoraproject.org/pub/fedora/linux/releases/42/Cloud/aarch64/images/Fedora-Cloud-Base-Generic-42-1.1.aarch64.qcow2",
    hostArch: "x86_64",
    want: "fedora-42-1.1.aarch64",
  },
  {
    text: "https://geo.mirror.pkgbuild.com/images/v20250415.336224/Arch-Linux-x86_64-cloudimg-20250415.336224.qcow2",
    hostArch: "x86_64",
    want: "archlinux",
  },
  {
    text: "https://dl-cdn.alpinelinux.org/alpine/v3.22/releases/cloud/nocloud_alpine-3.22.4-aarch64-uefi-cloudinit-r0.qcow2",
    hostArch: "aarch64",
    want: "alpine-3.22.4-r0",
  },
];

test.each(nameRows)("instanceNameFromLocator($text) is $want", ({ text, hostArch, want }) => {
  const locator = parseLocator(text, options);
  expect(instanceNameFromLocator(locator, hostArch === undefined ? {} : { hostArch })).toBe(want);
});

test.each([
  { url: "debian-12-genericcloud-amd64.qcow2", want: "x86_64" },
  { url: "x-arm64.img", want: "aarch64" },
  { url: "x-armhf.img", want: "armv7l" },
  { url: "x-ppc64el.img", want: "ppc64le" },
  { url: "x-riscv64.img", want: "riscv64" },
  { url: "x-s390x.img", want: "s390x" },
  { url: "plain.img", want: undefined },
])("guessImageArch($url) is $want", ({ url, want }) => {
  expect(guessImageArch(url)).toBe(want);
});
