// Container ports on the host (issue 14 #4), in the container test guest (tests/e2e/support/containers-guest.ts:
// Debian's docker.io rootful, podman rootless): how long after a container publishes a port (`docker run -d -p`,
// `podman run -d -p`, both through the host's clients and the forwarded sockets) the host's 127.0.0.1 serves it,
// against a baseline measured in the same run: a plain listener started directly in the guest (busybox httpd over
// ssh). Every command returns only once its port is bound (docker-proxy and rootlessport bind before `run -d`
// returns; busybox httpd binds before it daemonizes), so each clock starts at that return and stops at the host's
// first HTTP 200: listener detection by the guest agent, the forward, and the container's own start. The command's
// reply still has to travel back to the host (ssh for the baseline, the forwarded API socket for the engines); the
// table shows each command's duration for scale. Cases take turns, each sample on a port of its own.
// Under TCG the guest CPU bounds every path; the ratios are the figures, absolute numbers depend on this machine.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile } from "../lib/mounts/inotify/measure-inotify-latency.ts";
import { SshConfig } from "../lib/store/filenames.ts";
import { HostBusybox, hostRun, IndexPage, msUntilServed, startContainersGuest, writeBusyboxContext } from "../tests/e2e/support/containers-guest.ts";
import { den } from "../tests/e2e/support/den-cli.ts";
import { ensureGuestImage } from "../tests/e2e/support/guest-image.ts";
import { renderTable } from "./table.ts";

const Name = "cports";
const Image = "localhost/den-bench-busybox:1";
const Samples = 15;
const FirstPort = { baseline: 19100, docker: 19200, podman: 19300 };

interface Case {
  name: string;
  /** Starts a server on `port` that answers IndexPage; resolves once the command returned (the port is bound). */
  start(port: number): Promise<void>;
  /** Untimed: stops that server. */
  stop(port: number): Promise<void>;
}

const dir = await mkdtemp(join(tmpdir(), "den-container-ports-bench-"));
const home = join(dir, "home");
// den start creates the docker context den-NAME: into the bench's folder, not the user's ~/.docker.
process.env.DOCKER_CONFIG = join(dir, "docker-config");
try {
  const booted = performance.now();
  await mkdir(home);
  const guest = await startContainersGuest(Name, { home, image: await ensureGuestImage() });
  console.log(`boot + provisioning (docker.io and podman from the Debian mirror): ${((performance.now() - booted) / 1000).toFixed(0)} s`);

  const ssh = (command: string, stdin?: string) =>
    hostRun(["sh", "-c", `ssh -F "$0" den-${Name} "$1"${stdin ? ' < "$2"' : ""}`, join(guest.dir, SshConfig), command, ...(stdin ? [stdin] : [])]);
  const docker = (args: string[]) => checked(hostRun(["docker", "--host", `unix://${guest.dockerSocket}`, ...args]));
  // podman 4.3 fails when DOCKER_CONFIG names a folder without a config.json.
  const podman = (args: string[]) => checked(hostRun(["podman", "--remote", "--url", `unix://${guest.podmanSocket}`, ...args], { env: { DOCKER_CONFIG: undefined } }));

  const context = await writeBusyboxContext(join(dir, "build"));
  await docker(["build", "-q", "-t", Image, context]);
  await podman(["build", "-q", "-t", Image, context]);
  await checked(ssh(`cat > /tmp/busybox && chmod +x /tmp/busybox && mkdir -p /tmp/www && printf %s '${IndexPage.trimEnd()}' > /tmp/www/index.html && echo >> /tmp/www/index.html`, HostBusybox));

  const web = ["httpd", "-f", "-p", "8080", "-h", "/www"];
  const cases: Case[] = [
    {
      name: "guest listener (busybox httpd over ssh), baseline",
      start: async (port) => void (await checked(ssh(`/tmp/busybox httpd -p ${port} -h /tmp/www`))),
      stop: async (port) => void (await ssh(`kill $(ss -Hltnp 'sport = :${port}' | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)`)),
    },
    {
      name: "docker run -d -p (rootful, docker-proxy)",
      start: async (port) => void (await docker(["run", "-d", "--name", `p${port}`, "-p", `${port}:8080`, Image, ...web])),
      stop: async (port) => void (await docker(["rm", "-f", `p${port}`])),
    },
    {
      name: "podman run -d -p (rootless, rootlessport)",
      start: async (port) => void (await podman(["run", "-d", "--name", `p${port}`, "-p", `${port}:8080`, Image, ...web])),
      stop: async (port) => void (await podman(["rm", "-f", "-t", "0", `p${port}`])),
    },
  ];
  const firstPorts = [FirstPort.baseline, FirstPort.docker, FirstPort.podman];

  const served = cases.map(() => [] as number[]);
  const commands = cases.map(() => [] as number[]);
  for (let i = 0; i < Samples + 1; i++) {
    for (const [c, entry] of cases.entries()) {
      const port = (firstPorts[c] as number) + i;
      const issued = performance.now();
      await entry.start(port);
      const returned = performance.now();
      const ms = await msUntilServed(`http://127.0.0.1:${port}/`, { body: IndexPage, timeoutMs: 30_000, intervalMs: 5 });
      // The first round warms caches (image layers, the agent's first forward of a kind) and is not counted.
      if (i > 0) {
        (served[c] as number[]).push(ms);
        (commands[c] as number[]).push(returned - issued);
      }
      await entry.stop(port);
    }
  }

  const base = { p50: percentile(served[0] as number[], 0.5), p90: percentile(served[0] as number[], 0.9) };
  const rows = cases.map((entry, c) => {
    const times = served[c] as number[];
    const p50 = percentile(times, 0.5);
    const p90 = percentile(times, 0.9);
    return [entry.name, p50, p90, percentile(times, 1), p50 / base.p50, p90 / base.p90, percentile(commands[c] as number[], 0.5)];
  });
  console.log(`\nfrom the command's return (port bound) to the host's first HTTP 200 on 127.0.0.1, ${Samples} samples each:\n`);
  console.log(renderTable(["case", "p50 ms", "p90 ms", "max ms", "p50 vs baseline", "p90 vs baseline", "command p50 ms"], rows));
} finally {
  await den(home, ["stop", "-f", Name]).catch(() => undefined);
  await den(home, ["delete", "-f", Name]).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}

async function checked<T extends { exitCode: number; stderr: string }>(run: Promise<T>): Promise<T> {
  const result = await run;
  if (result.exitCode !== 0) throw new Error(`a bench command failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
  return result;
}
