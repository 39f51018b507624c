// Whether den should also give a guest Bun's musl runtime. den cannot see the guest's C library before it boots, and
// the runtime disk is attached at the start, so it guesses from the config: a guest whose image (any images[] entry
// of the instance's arch) has a file name that names Alpine, the musl distribution Lima's and den's templates ship
// (nocloud_alpine-3.22.4-x86_64-uefi-cloudinit-r0.qcow2, alpine-lima-std-3.19.0-x86_64.iso). Such a guest gets a
// disk carrying both runtimes, so a wrong guess still boots a glibc guest's agent; a musl guest whose image is not
// named so (Void musl, a renamed file) gets only the glibc runtime, and its boot script warns that the musl one is
// missing and why (cidata/boot/linux/25-guestagent.sh).
import type { FilledDenYaml } from "../config/schema.ts";

/** True when the instance's images name Alpine, whose C library is musl. */
export function expectsMuslGuest(config: Pick<FilledDenYaml, "arch" | "images">): boolean {
  return config.images.some((image) => image.arch === config.arch && /alpine/i.test(fileName(image.location)));
}

/** The last segment of a URL's path or of a file path. */
function fileName(location: string): string {
  const path = location.replace(/[?#].*$/, "").replace(/\/+$/, "");
  return path.slice(path.lastIndexOf("/") + 1);
}
