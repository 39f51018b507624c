// A stand-in for a running instance, for the command tests: live processes passing for the host agent and QEMU, a
// ha.sock answering /v1/info, and fake `ssh` / `scp` programs first in PATH that print their argv and exit with
// the code in FAKE_EXIT.
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type StandInHostAgent, infoResponse, type Route, serveStandInHostAgent } from "../../hostagent/support/stand-in-host-agent.ts";
import { type LiveProcess, makeInstance, ownerProcess, writePid } from "../../store/support/fake-instance.ts";

export interface RunningInstance extends AsyncDisposable {
  dir: string;
  agent: StandInHostAgent;
}

export async function makeRunningInstance(
  home: string,
  name: string,
  options: { status?: "Running" | "Paused" | "Starting"; port?: number; yaml?: string; routes?: Record<string, Route> } = {},
): Promise<RunningInstance> {
  const dir = await makeInstance(home, name, options.yaml);
  const processes: LiveProcess[] = [ownerProcess(dir, "ha.pid"), ownerProcess(dir, "qemu.pid")];
  await writePid(dir, "ha.pid", (processes[0] as LiveProcess).pid);
  await writePid(dir, "qemu.pid", (processes[1] as LiveProcess).pid);
  const agent = serveStandInHostAgent(dir, {
    "GET /v1/info": () => infoResponse(options.status ?? "Running", { sshLocalPort: options.port ?? 60022 }),
    ...options.routes,
  });
  const dispose = async (): Promise<void> => {
    await agent.stop();
    for (const process of processes) await process.kill();
  };
  return { dir, agent, [Symbol.asyncDispose]: dispose };
}

/** A folder with fake `ssh` and `scp`; put it first in PATH. Each prints `argv:` and one argument per line. */
export async function fakeSshBin(home: string): Promise<string> {
  const bin = join(home, "_fakebin");
  await mkdir(bin, { recursive: true });
  const script = `#!/bin/sh
if [ "$1" = "-V" ]; then echo "OpenSSH_9.6p1 Ubuntu-3ubuntu13, OpenSSL 3.0.13 30 Jan 2024" >&2; exit 0; fi
echo "argv: $(basename "$0")"
for arg in "$@"; do printf '%s\\n' "$arg"; done
exit "\${FAKE_EXIT:-0}"
`;
  for (const name of ["ssh", "scp"]) {
    await writeFile(join(bin, name), script);
    await chmod(join(bin, name), 0o755);
  }
  return bin;
}
