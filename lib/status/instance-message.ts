// The template's `message:`, shown by `den start` once the instance is ready (Lima's ShowMessage). It is a Go template
// over the same data as `den list --format`, plus the host facts Lima adds (`.HostOS`, `.HostArch`, `.LimaHome`,
// `.IdentityFile`), so the docker template's `{{.Dir}}/sock/docker.sock` names this instance's socket.
import { expandGoTemplate } from "../gotemplate/expand-go-template.ts";
import { goTemplateData, type InstanceInfo } from "./instance-info.ts";

export interface MessageHostFacts {
  /** Go's GOOS: `linux`, `darwin` (Node's platform names match for both). */
  hostOS: string;
  /** Lima's architecture name: `x86_64`, `aarch64`. */
  hostArch: string;
  /** DEN_HOME, as `.LimaHome`. */
  denHome: string;
  /** The private key den logs in with, as `.IdentityFile`. */
  identityFile: string;
}

/**
 * The expanded message, control characters but tab and newline shown as `?`; undefined when the instance has none.
 * Throws TEMPLATE_EXPR for a broken template.
 */
export function instanceMessage(info: InstanceInfo, host: MessageHostFacts): string | undefined {
  const text = info.message ?? "";
  if (text.trim() === "") return undefined;
  const data = goTemplateData(info, { HostOS: host.hostOS, HostArch: host.hostArch, LimaHome: host.denHome, IdentityFile: host.identityFile });
  // Go's default for a missing key (`<no value>`), as Lima's template.New("message") without options.
  const expanded = expandGoTemplate(text, data, { missingKey: "default", name: "message" });
  // A template fetched from the web writes this to the user's terminal: no escape sequences.
  return expanded.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "?");
}
