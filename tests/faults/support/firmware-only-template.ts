// A template that boots nothing: a blank disk in legacy BIOS, so a real QEMU (TCG) sits in its firmware. The fault
// cases that need a VM process but no guest use it.

/** den.yaml text for the image at `location` (a URL or a path), with its digest when given. */
export function firmwareOnlyTemplate(location: string, options: { digest?: string | undefined } = {}): string {
  return [
    "images:",
    `- location: ${JSON.stringify(location)}`,
    "  arch: x86_64",
    ...(options.digest ? [`  digest: ${options.digest}`] : []),
    "cpus: 1",
    "memory: 256MiB",
    "disk: 1GiB",
    "plain: true",
    "mounts: []",
    "containerd: {system: false, user: false}",
    "firmware: {legacyBIOS: true}",
    "",
  ].join("\n");
}
