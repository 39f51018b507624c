// The declaration of `den show-ssh [--format cmd|args|options|config] INSTANCE`; what it does is in show-ssh.ts,
// loaded when it runs.
import { Command, Option } from "@commander-js/extra-typings";

/** Lima's formats, in Lima's order (`pkg/sshutil/format.go`). */
export const ShowSshFormats = ["cmd", "args", "options", "config"] as const;
export type ShowSshFormat = (typeof ShowSshFormats)[number];

function declareShowSsh() {
  return new Command("show-ssh")
    .summary("show the SSH command line of an instance (deprecated in Lima: use ssh -F)")
    .description(
      "Show how to reach an instance with the system ssh. Formats:\n" +
        "  cmd      the whole command line: ssh -o IdentityFile=… -o User=… -o Hostname=127.0.0.1 -o Port=… den-NAME\n" +
        "  args     the same without ssh and the host\n" +
        "  options  one Key=Value per line\n" +
        "  config   a Host block for ~/.ssh/config\n" +
        "Instead of show-ssh, `ssh -F <instance dir>/ssh.config den-NAME` does the same.",
    )
    .argument("<instance>", "instance name")
    .addOption(new Option("-f, --format <format>", "cmd, args, options or config").choices(ShowSshFormats).default("cmd" as ShowSshFormat));
}

export type ShowSshOptions = ReturnType<ReturnType<typeof declareShowSsh>["opts"]>;

export function createShowSshCommand() {
  return declareShowSsh().action(async (name, options, self) => (await import("./show-ssh.ts")).runShowSsh(name, options, self));
}
