// A plugin's one-line description for `den --help`, from a tag in its script (Lima's `<limactl-desc>`; den reads its
// own `<den-desc>` first, so one script can serve both programs).
const DescriptionTags = ["den-desc", "limactl-desc"] as const;

/** The description a script declares, or undefined for binaries (no `#!`) and scripts without the tag. */
export function pluginDescription(head: string): string | undefined {
  if (!head.startsWith("#!")) return undefined;
  for (const tag of DescriptionTags) {
    const match = new RegExp(`<${tag}>(.*?)</${tag}>`).exec(head);
    const text = match?.[1]?.trim();
    if (text) return text;
  }
  return undefined;
}
