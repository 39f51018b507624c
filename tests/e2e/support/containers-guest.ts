// The container-engine test guest (issue 14): the Debian test guest with Debian's docker.io (rootful, system daemon)
// and podman (rootless, the guest user's API service) installed by its provisioning, both sockets forwarded to the
// instance folder as Lima's docker and podman templates do, plus `probes:`, a `copyToHost` entry and a `message:`.
// tests/e2e/containers.test.ts and bench/container-ports.bench.ts boot it; the host's own `docker` and
// `podman --remote` talk to it. No registry is reachable here, so images are built FROM scratch around the host's
// busybox-static binary (writeBusyboxContext()).
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { bootFailureReport, type DenResult, den, guestTemplate } from "./den-cli.ts";
import type { GuestImage } from "./guest-image.ts";

/** Where the guest's provisioning writes the engines' versions; copyToHost brings it to the host. */
export const GuestVersionsFile = "/etc/den-e2e/engines.txt";
/** The copyToHost destination, relative to the instance folder. */
export const CopiedVersionsFile = "copied-from-guest/engines.txt";
/** The page busybox httpd serves from /www in the image. */
export const IndexPage = "hello from a den container\n";
/** Debian's busybox-static (scripts/setup.sh installs it): one static binary, so FROM scratch needs nothing else. */
export const HostBusybox = "/bin/busybox";

/** The template's `message:`, as den start prints it once expanded (see expectedMessage()). */
const Message = "Engines of {{.Name}} are up.\ndocker: unix://{{.Dir}}/sock/docker.sock\npodman: unix://{{.Dir}}/sock/podman.sock";

/**
 * The template text (guestTemplate + the engines). Both engines come from one apt-get call, so the package lists and
 * the shared dependencies (runc, iptables, containernetworking) are fetched and configured once: under TCG unpacking and
 * configuring is most of the provisioning time (the download is ~90 MB in ~10 s). A throw-away guest loses nothing by
 * dpkg's force-unsafe-io, which skips an fsync per unpacked file.
 */
export function containersTemplate(image: GuestImage): string {
  const extra = `
provision:
# Written before the scripts run, so docker.socket starts owned by the guest user on the first boot (as Lima's
# docker-rootful template does): docker in the guest, den docker and the probe need no sudo.
- mode: data
  path: /etc/systemd/system/docker.socket.d/override.conf
  content: |
    [Socket]
    SocketUser={{.User}}
- mode: system
  script: |
    #!/bin/bash
    set -eux -o pipefail
    test -s ${GuestVersionsFile} && exit 0
    echo force-unsafe-io >/etc/dpkg/dpkg.cfg.d/den-e2e-unsafe-io
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # Recommends are off in the guest, so what they would bring is named: apparmor (the kernel has AppArmor on, and
    # dockerd refuses to run containers without apparmor_parser to load its profile), and for Debian's podman 4.3
    # rootless containers slirp4netns and newuidmap.
    apt-get install -y -q docker.io apparmor podman uidmap slirp4netns
    usermod -aG docker {{.User}}
    mkdir -p ${GuestVersionsFile.slice(0, GuestVersionsFile.lastIndexOf("/"))}
    { docker --version; podman --version; } >${GuestVersionsFile}
- mode: user
  script: |
    #!/bin/bash
    set -eux -o pipefail
    systemctl --user enable --now podman.socket
probes:
- description: docker and podman to answer
  script: |
    #!/bin/bash
    set -eux -o pipefail
    timeout 60s bash -c 'until docker version >/dev/null 2>&1; do sleep 2; done'
    timeout 60s bash -c 'until test -S /run/user/{{.UID}}/podman/podman.sock; do sleep 2; done'
  hint: See "/var/log/cloud-init-output.log" in the guest
portForwards:
- guestSocket: /var/run/docker.sock
  hostSocket: "{{.Dir}}/sock/docker.sock"
- guestSocket: /run/user/{{.UID}}/podman/podman.sock
  hostSocket: "{{.Dir}}/sock/podman.sock"
copyToHost:
- guest: ${GuestVersionsFile}
  host: "{{.Dir}}/${CopiedVersionsFile}"
message: ${JSON.stringify(Message)}
`;
  return guestTemplate(image, extra);
}

/** The message den start prints for instance `name` in `dir`. */
export function expectedMessage(name: string, dir: string): string {
  return Message.replaceAll("{{.Name}}", name).replaceAll("{{.Dir}}", dir);
}

export interface ContainersGuest {
  name: string;
  /** The instance folder. */
  dir: string;
  dockerSocket: string;
  podmanSocket: string;
  /** den start's output and duration (boot + provisioning + probes). */
  start: DenResult;
}

/** Creates and starts the guest in `home`; throws with den's output when either fails. */
export async function startContainersGuest(name: string, options: { home: string; image: GuestImage }): Promise<ContainersGuest> {
  const templatePath = join(options.home, `${name}.yaml`);
  await writeFile(templatePath, containersTemplate(options.image));
  const create = await den(options.home, ["create", templatePath, "--name", name]);
  if (create.exitCode !== 0) throw new Error(`den create failed:\n${create.stderr}`);
  const start = await den(options.home, ["start", name, "--timeout", "15m"], { timeoutMs: 1_000_000 });
  if (start.exitCode !== 0) throw new Error(await bootFailureReport(options.home, name, start));
  const dir = join(options.home, name);
  return { name, dir, dockerSocket: join(dir, "sock", "docker.sock"), podmanSocket: join(dir, "sock", "podman.sock"), start };
}

/** A build context: FROM scratch with the host's busybox as /bin/busybox (the entrypoint) and a page in /www. */
export async function writeBusyboxContext(dir: string): Promise<string> {
  await mkdir(join(dir, "www"), { recursive: true });
  await copyFile(HostBusybox, join(dir, "busybox"));
  await writeFile(join(dir, "www", "index.html"), IndexPage);
  await writeFile(join(dir, "Dockerfile"), ["FROM scratch", "COPY busybox /bin/busybox", "COPY www /www", 'ENTRYPOINT ["/bin/busybox"]', ""].join("\n"));
  return dir;
}

export interface HostRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a host program to completion (a client such as docker or podman), killed after `timeoutMs`. */
export async function hostRun(argv: string[], options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {}): Promise<HostRun> {
  const started = performance.now();
  // An undefined value removes the variable (Bun.spawn would pass the text "undefined").
  const env = Object.fromEntries(Object.entries({ ...process.env, ...options.env }).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const child = Bun.spawn(argv, { cwd: options.cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 300_000);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { exitCode, stdout, stderr, ms: performance.now() - started };
}

/**
 * Milliseconds from now until `url` first answers 200 with `body`, polling every `intervalMs`; throws after
 * `timeoutMs`. A refused connection or a wrong answer (a forward that is up before the container serves) both retry.
 */
export async function msUntilServed(url: string, options: { body: string; timeoutMs: number; intervalMs?: number }): Promise<number> {
  const started = performance.now();
  let last = "no attempt";
  while (performance.now() - started < options.timeoutMs) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      const text = await response.text();
      if (response.status === 200 && text === options.body) return performance.now() - started;
      last = `status ${response.status}`;
    } catch (error) {
      last = String(error);
    }
    await Bun.sleep(options.intervalMs ?? 10);
  }
  throw new Error(`${url} did not answer within ${options.timeoutMs} ms (last: ${last})`);
}
