// Which containerd.archives[] entries may be installed in the guest: those of its arch, in the order written, as
// Lima tries them (the first that downloads wins). Nothing is wanted when neither a system nor a user containerd is
// enabled, or in plain mode (which turns containerd off).
import type { FilledDenYaml } from "../config/schema.ts";
import { ConfigError } from "../errors.ts";

export type ContainerdArchive = FilledDenYaml["containerd"]["archives"][number];

/** Whether the guest gets containerd at all. */
export function containerdWanted(config: Pick<FilledDenYaml, "containerd" | "plain">): boolean {
  return !config.plain && (config.containerd.system || config.containerd.user);
}

/**
 * The archives for `config.arch`, in order; [] when containerd is off. Throws a ConfigError naming
 * `containerd.archives` and the arch when containerd is on and no entry fits.
 */
export function containerdArchiveCandidates(config: Pick<FilledDenYaml, "containerd" | "plain" | "arch">): ContainerdArchive[] {
  if (!containerdWanted(config)) return [];
  const candidates = config.containerd.archives.filter((archive) => archive.arch === config.arch);
  if (candidates.length > 0) return candidates;
  const available = [...new Set(config.containerd.archives.map((archive) => archive.arch))];
  const enabled = [config.containerd.system && "system", config.containerd.user && "user"].filter(Boolean).join(" and ");
  throw new ConfigError("CONFIG_INVALID", [
    {
      path: ["containerd", "archives"],
      message: `No archive for arch "${config.arch}" (containerd.${enabled === "system and user" ? "system and containerd.user are" : `${enabled} is`} enabled)${available.length > 0 ? `; archives are listed for ${available.map((arch) => `"${arch}"`).join(", ")}` : ""}`,
      hint: `add a containerd.archives entry with arch: ${config.arch}, or turn containerd off (containerd: {system: false, user: false})`,
    },
  ]);
}
