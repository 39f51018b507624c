// The declaration of `den tunnel [--type socks] [--socks-port N] INSTANCE`; what it does is in tunnel.ts, loaded
// when it runs.
import { Command, Option } from "@commander-js/extra-typings";

function declareTunnel() {
  return new Command("tunnel")
    .summary("open a SOCKS proxy into an instance's network (experimental)")
    .description(
      "Create a SOCKS tunnel so that the host can join the guest network: ssh -D in the background.\n" +
        "Host names are resolved in the guest, so http://localhost:8080 through the proxy is the guest's port 8080.",
    )
    .argument("<instance>", "instance name")
    .addOption(new Option("--type <type>", 'tunnel type; only "socks" exists').choices(["socks"] as const).default("socks" as const))
    .option("--socks-port <port>", "SOCKS port on 127.0.0.1, 1024-65535 (default: a free port)");
}

export type TunnelOptions = ReturnType<ReturnType<typeof declareTunnel>["opts"]>;

export function createTunnelCommand() {
  return declareTunnel().action(async (name, options, self) => (await import("./tunnel.ts")).runTunnel(name, options, self));
}
