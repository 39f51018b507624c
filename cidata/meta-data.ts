// The NoCloud `meta-data`: the instance id (new on every start, which makes cloud-init re-run its per-instance
// modules) and the guest's hostname.
import type { SeedArgs } from "./seed-args.ts";
import { cloudYaml } from "./user-data.ts";

/** `instance-id: <iid>` and `local-hostname: <hostname>`. */
export function metaData(args: Pick<SeedArgs, "iid" | "hostname">): string {
  return cloudYaml({ "instance-id": args.iid, "local-hostname": args.hostname });
}
