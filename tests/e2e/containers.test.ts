// Issue 14's proof for Docker and Podman, on one guest booted once (support/containers-guest.ts): Debian's docker.io
// (rootful) and podman (rootless) installed by the template's provisioning through the guest's user-mode network,
// driven from the host with the host's own `docker` (context den-NAME, which den start creates) and `podman --remote`
// through the forwarded sockets. No registry is reachable, so each engine builds a FROM scratch image around the
// host's busybox-static, runs it, and publishes a container port that the host reaches on 127.0.0.1 through den's
// port forwarding (issue 14 #4; docker's userland proxy and podman's rootlessport both listen in the guest's own
// network namespace, where the guest agent sees them). The same start also proves the template features: probes
// (the engine stage), copyToHost, message:, the docker context, `den docker|podman` and `den list --json` sockets.
// DOCKER_CONFIG points into the test's DEN_HOME for den start and for every host client, so neither the context den
// creates nor anything docker writes lands in the user's ~/.docker.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { den } from "./support/den-cli.ts";
import { ensureGuestImage } from "./support/guest-image.ts";
import {
  CopiedVersionsFile,
  type ContainersGuest,
  expectedMessage,
  hostRun,
  IndexPage,
  msUntilServed,
  startContainersGuest,
  writeBusyboxContext,
} from "./support/containers-guest.ts";

const Name = "engines";
const Image = "localhost/den-e2e-busybox:1";
const DockerPort = 18081;
const PodmanPort = 18082;
// From `run -d` returning to the first answer on the host: the budget is 100 ms p50 after the port binds
// (bench/container-ports.bench.ts measures that); one sample on a loaded CI machine under TCG gets more room.
const FirstAnswerBudgetMs = 3_000;

let home: string;
let guest: ContainersGuest;
let context: string;
let savedDockerConfig: string | undefined;
const timings: Record<string, number> = {};

beforeAll(async () => {
  const image = await ensureGuestImage();
  home = await mkdtemp(join(tmpdir(), "den-engines-"));
  savedDockerConfig = process.env.DOCKER_CONFIG;
  process.env.DOCKER_CONFIG = join(home, "docker-config");
  context = await writeBusyboxContext(join(home, "build"));
  guest = await startContainersGuest(Name, { home, image });
  timings.start = guest.start.ms;
}, 1_100_000);

afterAll(async () => {
  if (home) {
    await den(home, ["stop", "-f", Name]);
    await den(home, ["delete", "-f", Name]);
    await rm(home, { recursive: true, force: true });
  }
  if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
  else process.env.DOCKER_CONFIG = savedDockerConfig;
  console.log(`containers e2e timings (s): ${JSON.stringify(Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Number((v / 1000).toFixed(2))])))}`);
}, 180_000);

function docker(args: string[], timeoutMs?: number) {
  return hostRun(["docker", "--context", `den-${Name}`, ...args], { timeoutMs });
}

// podman 4.3 reads DOCKER_CONFIG for registry credentials and fails when it names a folder without a config.json.
function podman(args: string[], timeoutMs?: number) {
  return hostRun(["podman", "--remote", "--url", `unix://${guest.podmanSocket}`, ...args], { timeoutMs, env: { DOCKER_CONFIG: undefined } });
}

function startOutput(): string {
  return guest.start.stdout + guest.start.stderr;
}

test("den start reports the engine stage, prints the template's message expanded and copies the guest file to the host", async () => {
  expect(startOutput()).toContain("waiting for the container engine and the template's probes");
  expect(startOutput()).toContain(expectedMessage(Name, guest.dir));
  expect(await readFile(join(guest.dir, CopiedVersionsFile), "utf8")).toMatch(/^Docker version 20\.10\.\S+.*\npodman version 4\.\d+\.\d+\n$/);
});

test("den list --json names the forwarded docker and podman sockets", async () => {
  const listed = await den(home, ["list", "--json", Name]);
  expect(listed.exitCode).toBe(0);
  expect(JSON.parse(listed.stdout).sockets).toEqual({ docker: guest.dockerSocket, podman: guest.podmanSocket });
});

test("den start creates docker context den-NAME, and the host's docker reaches the guest's daemon through it", async () => {
  const inspected = await hostRun(["docker", "context", "inspect", `den-${Name}`, "--format", "{{.Endpoints.docker.Host}}"]);
  expect(inspected.stdout.trim()).toBe(`unix://${guest.dockerSocket}`);
  const current = await hostRun(["docker", "context", "show"]);
  expect(current.stdout.trim()).toBe("default");
  const version = await docker(["version", "--format", "{{.Server.Version}} {{.Server.Os}}"]);
  expect(version.stderr).toBe("");
  expect(version.stdout.trim()).toMatch(/^20\.10\.\S+ linux$/);
});

test("docker builds a FROM scratch busybox image from the host and runs it", async () => {
  const build = await docker(["build", "-q", "-t", Image, context]);
  timings.dockerBuild = build.ms;
  expect(build.exitCode, build.stderr).toBe(0);
  const run = await docker(["run", "--rm", Image, "echo", "line from docker"]);
  timings.dockerRun = run.ms;
  expect(run.stdout).toBe("line from docker\n");
  expect(run.exitCode).toBe(0);
}, 300_000);

test("docker run -p publishes a container port on the host's 127.0.0.1 within the latency budget", async () => {
  const run = await docker(["run", "-d", "--name", "web", "-p", `${DockerPort}:8080`, Image, "httpd", "-f", "-p", "8080", "-h", "/www"]);
  expect(run.exitCode, run.stderr).toBe(0);
  const ms = await msUntilServed(`http://127.0.0.1:${DockerPort}/`, { body: IndexPage, timeoutMs: 30_000 });
  timings.dockerPortFirstAnswer = ms;
  const curl = await hostRun(["curl", "-fsS", `http://127.0.0.1:${DockerPort}/`]);
  expect(curl.stdout).toBe(IndexPage);
  expect(ms).toBeLessThan(FirstAnswerBudgetMs);
  expect((await docker(["rm", "-f", "web"])).exitCode).toBe(0);
}, 120_000);

test("podman --remote builds the image in the guest user's rootless podman and runs it", async () => {
  const version = await podman(["version", "--format", "{{.Server.Version}}"]);
  expect(version.stdout.trim()).toMatch(/^4\.\d+\.\d+$/);
  const build = await podman(["build", "-q", "-t", Image, context]);
  timings.podmanBuild = build.ms;
  expect(build.exitCode, build.stderr).toBe(0);
  const run = await podman(["run", "--rm", Image, "echo", "line from podman"]);
  timings.podmanRun = run.ms;
  expect(run.stdout).toBe("line from podman\n");
  expect(run.exitCode).toBe(0);
}, 300_000);

test("podman run -p publishes a rootless container port (rootlessport) on the host's 127.0.0.1 within the latency budget", async () => {
  const run = await podman(["run", "-d", "--name", "web", "-p", `${PodmanPort}:8080`, Image, "httpd", "-f", "-p", "8080", "-h", "/www"]);
  expect(run.exitCode, run.stderr).toBe(0);
  const ms = await msUntilServed(`http://127.0.0.1:${PodmanPort}/`, { body: IndexPage, timeoutMs: 30_000 });
  timings.podmanPortFirstAnswer = ms;
  const curl = await hostRun(["curl", "-fsS", `http://127.0.0.1:${PodmanPort}/`]);
  expect(curl.stdout).toBe(IndexPage);
  expect(ms).toBeLessThan(FirstAnswerBudgetMs);
  expect((await podman(["rm", "-f", "-t", "0", "web"])).exitCode).toBe(0);
}, 120_000);

test.each([
  { client: "docker", server: /Server:[\s\S]*Version:\s+20\.10\./ },
  { client: "podman", server: /Version:\s+4\.\d+\.\d+/ },
])("den $client version runs the guest's $client for the guest user", async ({ client, server }) => {
  const run = await den(home, [client, "--instance", Name, "version"], { timeoutMs: 120_000 });
  expect(run.exitCode, run.stderr).toBe(0);
  expect(run.stdout).toMatch(server);
}, 150_000);
