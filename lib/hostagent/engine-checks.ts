// The container engine's readiness checks (`containerd.user` / `containerd.system`), as Lima's optional requirements
// with one more step each: Lima only waits for the binaries, den also waits for the containerd unit to be active,
// so `den start` says "ready" only when `nerdctl` (or the template's client) can talk to it. Plain mode has no engine.
import type { FilledDenYaml } from "../config/schema.ts";
import { shellQuote } from "../shell/quote.ts";
import type { ReadinessCheck } from "./readiness-check.ts";

const CloudInitLog = "/var/log/cloud-init-output.log";
const LogLines = 20;

/** The checks for the engines `config` enables, in order; empty when containerd is off or the instance is plain. */
export function engineChecks(config: Pick<FilledDenYaml, "containerd" | "plain" | "os" | "guestInstallPrefix">): ReadinessCheck[] {
  const { user, system } = config.containerd;
  if (config.plain || config.os !== "Linux" || (!user && !system)) return [];
  const containerd = `${config.guestInstallPrefix.replace(/\/+$/, "")}/bin/containerd`;
  const checks: ReadinessCheck[] = [
    {
      kind: "engine",
      description: "systemd must be available",
      fatal: true,
      script: `#!/bin/sh
command -v systemctl >/dev/null 2>&1 || { echo "systemd is not available on this OS" >&2; exit 1; }
`,
      hint: "containerd needs systemd; use an image with systemd, or set containerd.system and containerd.user to false",
    },
    {
      kind: "engine",
      description: "containerd binaries to be installed",
      script: `#!/bin/sh
test -x ${shellQuote(containerd)} || { echo ${shellQuote(`${containerd} is not installed (yet)`)} >&2; exit 1; }
`,
      hint: `the nerdctl-full archive was not installed: see ${CloudInitLog} in the guest`,
    },
  ];
  if (system) {
    checks.push({
      kind: "engine",
      description: "containerd (system) to be running",
      script: `#!/bin/sh
systemctl is-active containerd
`,
      hint: `the system containerd service is not active: see "sudo systemctl status containerd" and ${CloudInitLog} in the guest`,
      logCommand: `sudo -n journalctl -u containerd -n ${LogLines} --no-pager 2>&1`,
      logTitle: "containerd log (journalctl -u containerd)",
    });
  }
  if (user) {
    // The user's systemd instance needs XDG_RUNTIME_DIR; a login through the host agent's session may not set it.
    const runtimeDir = `XDG_RUNTIME_DIR="\${XDG_RUNTIME_DIR:-/run/user/$(id -u)}"`;
    checks.push({
      kind: "engine",
      description: "containerd (rootless, for the user) to be running",
      script: `#!/bin/sh
export ${runtimeDir}
systemctl --user is-active containerd
`,
      hint: `rootless containerd is not active: see "systemctl --user status containerd" and ${CloudInitLog} in the guest`,
      logCommand: `export ${runtimeDir}; journalctl --user -u containerd -n ${LogLines} --no-pager 2>&1 || sudo -n journalctl _SYSTEMD_USER_UNIT=containerd.service -n ${LogLines} --no-pager 2>&1`,
      logTitle: "containerd log (journalctl --user -u containerd)",
    });
  }
  return checks;
}
