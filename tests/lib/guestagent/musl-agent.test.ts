// The guest agent on musl, without a VM: Bun's real musl runtime (linux-x64-musl, as an Alpine guest runs it) comes
// through den's own path for runtimes it does not carry (a manifest entry, fetched from a 127.0.0.1 server into the
// download cache, digest checked, unpacked by findGuestRuntime), then runs den's agent bundle under Debian's musl
// loader (/lib/ld-musl-*.so.1, the `musl` package), serving a unix socket the real host client connects to.
//
// What this machine lacks: Bun's musl build links libstdc++.so.6 and libgcc_s.so.1, which Alpine's apk packages
// provide built for musl, and which neither Debian nor npm has. The test lends it Debian's (glibc-built) copies,
// and the five glibc symbols they use that musl 1.2.3 lacks come from a small shim compiled here (the role Alpine's
// gcompat plays). So what runs is the real musl runtime and den's real bundle on musl's libc, but not an Alpine
// userland: tests/cidata/boot/guestagent-alpine.test.ts covers the boot script's musl and OpenRC branches in a fake
// root, and nothing here ran in a real Alpine guest.
//
// The musl runtime is Bun's own download (bun build --compile --target=bun-linux-x64-musl fetches it once into Bun's
// cache, where scripts/build.ts also finds it); offline and without it, the test fails saying so.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buffer } from "node:stream/consumers";
import { findGuestRuntime, type GuestRuntime } from "../../../lib/guestagent/guest-runtime.ts";
import { type AgentTarget, type RuntimeEntry, runtimeFileName } from "../../../lib/guestagent/runtime-manifest.ts";
import { type AgentProcess, hasPorts, repoRoot, startAgentProcess } from "../../agent/agent-process.ts";
import { buildAgentBundle } from "../../cidata/boot/agent-fixture.ts";

const muslArch = process.arch === "arm64" ? "aarch64" : "x86_64";
const target: AgentTarget = process.arch === "arm64" ? "linux-arm64-musl" : "linux-x64-musl";
const loader = `/lib/ld-musl-${muslArch}.so.1`;
const gnuLibDir = `/usr/lib/${muslArch}-linux-gnu`;

// glibc symbols that Debian's libstdc++ and libgcc_s reference and musl 1.2.3 does not define.
const glibcShim = `
#include <stddef.h>
#include <stdint.h>
struct tm;
typedef struct __locale_struct *locale_t;
extern size_t strftime_l(char *, size_t, const char *, const struct tm *, locale_t);
extern long syscall(long, ...);
char __libc_single_threaded = 0;
size_t __strftime_l(char *s, size_t n, const char *f, const struct tm *tm, locale_t l) { return strftime_l(s, n, f, tm, l); }
uint32_t arc4random(void) { uint32_t v = 0; syscall(${muslArch === "x86_64" ? 318 : 278}, &v, sizeof v, 0); return v; }
/* Thread-local destructors are not run: enough for a test process. */
int __cxa_thread_atexit_impl(void (*dtor)(void *), void *obj, void *dso) { (void)dtor; (void)obj; (void)dso; return 0; }
/* -1: libgcc's unwinder falls back to dl_iterate_phdr, which musl has. */
struct dl_find_object;
int _dl_find_object(void *pc, struct dl_find_object *result) { (void)pc; (void)result; return -1; }
struct { unsigned int vendor, type, subtype, features[1]; } __cpu_model;
int __cpu_indicator_init(void) { return 0; }
`;

let work = "";
let runtime: GuestRuntime;
let bundlePath = "";
let libDir = "";
let shim = "";
const servers: Server[] = [];
let agent: AgentProcess | undefined;

beforeAll(async () => {
  if (!existsSync(loader)) throw new Error(`This test needs musl's loader ${loader}: install Debian's musl package (apt-get install musl; scripts/setup.sh does)`);
  work = mkdtempSync(join(tmpdir(), "den-musl-agent-"));

  // The musl libc's companions, as described above.
  libDir = join(work, "lib");
  Bun.spawnSync(["mkdir", "-p", libDir]);
  for (const name of ["libstdc++.so.6", "libgcc_s.so.1"]) {
    const path = [join(gnuLibDir, name), join("/lib", `${muslArch}-linux-gnu`, name)].find((candidate) => existsSync(candidate));
    if (!path) throw new Error(`This test needs Debian's ${name} in ${gnuLibDir}`);
    symlinkSync(path, join(libDir, name));
  }
  // Debian's libstdc++ names glibc's loader; musl's stands in for it, with nothing of its own to add.
  const empty = join(work, "empty.c");
  writeFileSync(empty, "");
  compile([empty, "-o", join(libDir, muslArch === "x86_64" ? "ld-linux-x86-64.so.2" : "ld-linux-aarch64.so.1")]);
  const shimSource = join(work, "glibc-shim.c");
  writeFileSync(shimSource, glibcShim);
  shim = join(work, "libglibc-shim.so");
  compile([shimSource, "-O2", "-o", shim]);

  // Bun's musl runtime, as den would fetch it: zstd file served over HTTP, entry with its digests, findGuestRuntime.
  const plain = await Bun.file(bunMuslRuntime()).bytes();
  const compressed = Bun.zstdCompressSync(plain, { level: 1 });
  const file = runtimeFileName(Bun.version, target);
  const entry: RuntimeEntry = {
    file,
    sha256: new Bun.CryptoHasher("sha256").update(plain).digest("hex"),
    size: plain.byteLength,
    compressedSha256: new Bun.CryptoHasher("sha256").update(compressed).digest("hex"),
    compressedSize: compressed.byteLength,
  };
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => (new URL(request.url).pathname === `/${file}` ? new Response(compressed) : new Response("not found", { status: 404 })) });
  try {
    const found = await findGuestRuntime(muslArch, {
      libc: "musl",
      denHome: join(work, "den-home"),
      hostHome: work,
      cacheDir: join(work, "download-cache"),
      env: { DEN_GUESTAGENT_RUNTIME_URL: `http://127.0.0.1:${server.port}` },
      manifest: { bunVersion: Bun.version, baseUrl: "", runtimes: { [target]: entry } },
    });
    if (!found) throw new Error("findGuestRuntime() found no musl runtime in the manifest it was given");
    runtime = found;
  } finally {
    await server.stop(true);
  }

  bundlePath = join(work, "den-guestagent.js");
  writeFileSync(bundlePath, await buildAgentBundle());
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  for (const server of servers) server.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function compile(args: string[]): void {
  const result = Bun.spawnSync(["cc", "-shared", "-fPIC", "-nostdlib", ...args], { stderr: "pipe" });
  if (!result.success) throw new Error(`This test compiles a small glibc shim with cc (Debian's gcc): ${result.stderr.toString()}`);
}

/** Bun's musl runtime of the running version, from Bun's download cache; fetched into it once when missing. */
function bunMuslRuntime(): string {
  const cacheDir = Bun.spawnSync([process.execPath, "pm", "cache"], { cwd: repoRoot, stderr: "ignore" }).stdout.toString().trim() || join(process.env.HOME ?? "/root", ".bun", "install", "cache");
  const path = join(cacheDir, `bun-linux-${process.arch === "arm64" ? "aarch64" : "x64"}-musl-v${Bun.version}`);
  if (existsSync(path)) return path;
  const scratch = join(work, "fetch-musl");
  const fetched = Bun.spawnSync([process.execPath, "build", "--compile", `--target=bun-${target}`, join(repoRoot, "agent", "main.ts"), "--outfile", scratch], { cwd: repoRoot, stderr: "pipe" });
  if (existsSync(path)) return path;
  throw new Error(`Cannot get Bun ${Bun.version}'s ${target} runtime: it is not in Bun's cache (${path}) and fetching it failed (${fetched.stderr.toString().trim().split("\n").pop()}); connect to the network once`);
}

async function echoServer(): Promise<number> {
  const server = createServer((socket) => socket.pipe(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

test("findGuestRuntime() fetches Bun's musl runtime for a musl guest into den's cache as an unpacked, private file of the manifest's digest", () => {
  expect(runtime.target).toBe(target);
  expect(runtime.path).toBe(join(work, "den-home", "_cache", "guestagent", "runtimes", `bun-${Bun.version}-${target}`));
  const bytes = readFileSync(runtime.path);
  expect(new Bun.CryptoHasher("sha256").update(bytes).digest("hex")).toBe(runtime.sha256);
  // A musl executable: its interpreter is musl's loader.
  expect(bytes.subarray(0, 4096).toString("latin1")).toContain(loader);
});

test("the musl runtime runs den's agent bundle on musl's libc, which reports a 127.0.0.1 listener to the host client and forwards to it", async () => {
  const socketPath = join(work, "agent.sock");
  // musl's loader runs the runtime (den keeps it 0600: never run on the host) with the libraries described above.
  const wrap = ["sh", "-c", 'l=$0 r=$1 b=$2 libs=$3 shim=$4; shift 6; exec "$l" --library-path "$libs" --preload "$shim" "$r" "$b" "$@"', loader, runtime.path, bundlePath, libDir, shim];
  agent = await startAgentProcess(socketPath, { wrap, timeoutMs: 20_000 });
  expect(agent.client.state).toMatchObject({ state: "connected", info: { arch: muslArch } });
  const maps = readFileSync(`/proc/${agent.pid}/maps`, "latin1");
  expect(maps).toContain(`${muslArch}-linux-musl/libc.so`);
  expect(maps).not.toMatch(/\/libc\.so\.6$/m);

  const port = await echoServer();
  await agent.waitForListeners((listeners) => hasPorts(listeners, "tcp", [port]), 10_000);
  const stream = await agent.client.openStream({ kind: "tcp", host: "127.0.0.1", port });
  const sent = Buffer.from("through the musl agent\n".repeat(4096));
  stream.end(sent);
  expect((await buffer(stream)).equals(sent)).toBe(true);
}, 30_000);
