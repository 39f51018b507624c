import { expect, test } from "bun:test";
import type { FilledImage } from "../../../lib/config/schema.ts";
import { expectsMuslGuest } from "../../../lib/guestagent/guest-libc.ts";

const image = (location: string, arch = "x86_64"): FilledImage => ({ location, arch });

test.each([
  { name: "the Alpine cloud image of den's template", images: [image("https://dl-cdn.alpinelinux.org/alpine/v3.22/releases/cloud/nocloud_alpine-3.22.4-x86_64-uefi-cloudinit-r0.qcow2")], musl: true },
  { name: "Lima's alpine-lima ISO", images: [image("https://github.com/lima-vm/alpine-lima/releases/download/v0.2.40/alpine-lima-std-3.19.0-x86_64.iso")], musl: true },
  { name: "a local Alpine file", images: [image("~/images/Alpine-3.21.qcow2")], musl: true },
  { name: "a Debian image", images: [image("https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2")], musl: false },
  { name: "a Debian image in a folder named alpine", images: [image("/srv/alpine/debian-12.qcow2")], musl: false },
  { name: "an Alpine image of another arch only", images: [image("nocloud_alpine-3.22.4-aarch64-uefi-cloudinit-r0.qcow2", "aarch64"), image("debian-12.qcow2")], musl: false },
  { name: "a Debian image first and an Alpine fallback", images: [image("debian-12.qcow2"), image("alpine-3.22.qcow2?download=1")], musl: true },
])("expectsMuslGuest() for $name is $musl", ({ images, musl }) => {
  expect(expectsMuslGuest({ arch: "x86_64", images: [...images] })).toBe(musl);
});
