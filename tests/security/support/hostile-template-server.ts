// A template server on 127.0.0.1 that misbehaves on purpose: templates that reference host files, huge and endless
// bodies, gzip bombs, stalls, redirect tricks, deep base chains and cycles. The only network the fuzz run allows.
import { gzipSync } from "node:zlib";
import { aliasBomb, validTemplate } from "./hostile-files.ts";
import type { SeededRandom } from "./seeded-random.ts";

const MiB = 1024 * 1024;
/** Length of the remote chain-0.yaml → chain-1.yaml → … */
const RemoteChainLength = 200;

/** Each is served at `{url}/t/NAME`. */
export const HostileRouteNames = [
  "valid.yaml",
  "relative-base.yaml",
  "leak-tilde.yaml",
  "leak-abs.yaml",
  "leak-file-url.yaml",
  "leak-probe.yaml",
  "leak-base-abs.yaml",
  "leak-base-tilde.yaml",
  "leak-base-file-url.yaml",
  "leak-base-shadow.yaml",
  "leak-base-object.yaml",
  "leak-dotdot.yaml",
  "leak-mount.yaml",
  "binary.yaml",
  "alias-bomb.yaml",
  "deep-flow.yaml",
  "html.yaml",
  "chain-0.yaml",
  "cycle-a.yaml",
  "huge-length.yaml",
  "huge-chunked.yaml",
  "endless.yaml",
  "gzip-bomb.yaml",
  "stall.yaml",
  "stall-headers.yaml",
  "drip.yaml",
  "redirect-loop.yaml",
  "redirect-file.yaml",
  "redirect-refused.yaml",
  "not-found.yaml",
  "server-error.yaml",
] as const;

export type HostileRouteName = (typeof HostileRouteNames)[number];

/** Routes that never finish on their own: only den's fetch timeout (or the run's hang limit) ends them. */
export const StallingRouteNames: readonly HostileRouteName[] = ["stall.yaml", "stall-headers.yaml", "drip.yaml"];

/** Routes that serve a template a remote source may legitimately use. */
export const AcceptableRouteNames: readonly HostileRouteName[] = ["valid.yaml", "relative-base.yaml", "chain-0.yaml", "leak-mount.yaml"];

export interface HostileServer extends AsyncDisposable {
  url: string;
  /** The fixed body of a route, for the echo check (undefined for streamed or endless ones). */
  body(path: string): string | undefined;
  stop(): Promise<void>;
}

export interface HostileServerOptions {
  /** Folder holding shadow, host-key and secret-template.yaml. */
  secretsDir: string;
  random: SeededRandom;
}

export function serveHostileTemplates(options: HostileServerOptions): HostileServer {
  let url = "";
  const bodies = new Map<string, string | Uint8Array>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    // Stalls must stall: Bun's default idle timeout would close them after 10 s and hide a missing fetch timeout.
    idleTimeout: 0,
    fetch: (request) => respond(new URL(request.url).pathname),
  });
  url = `http://127.0.0.1:${server.port}`;
  const { secretsDir } = options;
  const valid = validTemplate(url);
  const fixed: Record<string, string | Uint8Array> = {
    "valid.yaml": valid,
    "relative-base.yaml": "base: ./valid.yaml\ncpus: 2\n",
    "leak-tilde.yaml": `${valid}provision:\n- mode: data\n  path: /tmp/leak\n  file: ~/.bashrc\n`,
    "leak-abs.yaml": `${valid}provision:\n- mode: data\n  path: /tmp/leak\n  file: ${secretsDir}/host-key\n`,
    "leak-file-url.yaml": `${valid}provision:\n- mode: data\n  path: /tmp/leak\n  file: file://${secretsDir}/host-key\n`,
    "leak-probe.yaml": `${valid}probes:\n- file: ~/.ssh/id_ed25519\n`,
    "leak-base-abs.yaml": `base: ${secretsDir}/secret-template.yaml\n${valid}`,
    "leak-base-tilde.yaml": `base: ~/.den-secret.yaml\n${valid}`,
    "leak-base-file-url.yaml": `base: file://${secretsDir}/secret-template.yaml\n${valid}`,
    "leak-base-shadow.yaml": `base: ${secretsDir}/shadow\n${valid}`,
    "leak-base-object.yaml": `base:\n- url: ${secretsDir}/secret-template.yaml\n${valid}`,
    "leak-dotdot.yaml": `base: ../../../..${secretsDir}/secret-template.yaml\n${valid}`,
    "leak-mount.yaml": `${valid.replace("mounts: []\n", "")}mounts:\n- location: "~"\n  writable: true\n`,
    "binary.yaml": options.random.bytes(4000),
    "alias-bomb.yaml": `${valid}${aliasBomb()}`,
    "deep-flow.yaml": `${valid}cpus: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`,
    "html.yaml": `<!DOCTYPE html>\n<html><head><title>Captive portal</title></head><body>${"<p>log in</p>".repeat(200)}</body></html>\n`,
    "cycle-a.yaml": `base: ./cycle-b.yaml\n${valid}`,
    "cycle-b.yaml": "base: ./cycle-a.yaml\n",
    "huge-length.yaml": `${valid}${"#".repeat(5 * MiB)}\n`,
  };
  for (let i = 0; i < RemoteChainLength; i++) {
    fixed[`chain-${i}.yaml`] = i + 1 < RemoteChainLength ? `base: ./chain-${i + 1}.yaml\n` : valid;
  }
  for (const [name, body] of Object.entries(fixed)) bodies.set(`/t/${name}`, body);
  // 256 MiB of zeros is about 256 KiB gzipped: a fetch that inflates without a limit swallows it whole.
  const gzipBomb = gzipSync(new Uint8Array(256 * MiB), { level: 9 });

  function respond(path: string): Response | Promise<Response> {
    const name = path.startsWith("/t/") ? path.slice(3) : "";
    const body = bodies.get(path);
    if (body !== undefined) return new Response(body, { headers: { "content-type": "application/yaml" } });
    switch (name) {
      case "huge-chunked.yaml":
        return streamed(function* () {
          for (let sent = 0; sent < 5 * MiB; sent += 64 * 1024) yield `${"# chunk ".repeat(8192)}\n`;
        });
      case "endless.yaml":
        return streamed(function* () {
          for (;;) yield "- lol\n".repeat(10_000);
        });
      case "gzip-bomb.yaml":
        return new Response(gzipBomb, { headers: { "content-encoding": "gzip", "content-type": "application/yaml" } });
      case "stall.yaml":
        return new Response(
          new ReadableStream({
            start: (controller) => controller.enqueue(new TextEncoder().encode("cpus: 2\n")),
            pull: () => new Promise<void>(() => {}),
          }),
        );
      case "stall-headers.yaml":
        return new Promise<Response>(() => {});
      case "drip.yaml":
        return new Response(
          new ReadableStream({
            pull: async (controller) => {
              await Bun.sleep(250);
              controller.enqueue(new TextEncoder().encode("#"));
            },
          }),
        );
      case "redirect-loop.yaml":
        return Response.redirect(`${url}/t/redirect-loop.yaml`, 302);
      case "redirect-file.yaml":
        return new Response(null, { status: 302, headers: { location: `file://${secretsDir}/secret-template.yaml` } });
      case "redirect-refused.yaml":
        return Response.redirect("http://127.0.0.1:9/t/valid.yaml", 302);
      case "server-error.yaml":
        return new Response(`<html>${"Internal Server Error ".repeat(500)}</html>`, { status: 500 });
      default:
        return new Response("not found\n", { status: 404 });
    }
  }

  const stop = async (): Promise<void> => {
    await server.stop(true);
  };
  return {
    url,
    body: (path) => {
      const body = bodies.get(path);
      return body === undefined ? undefined : typeof body === "string" ? body : new TextDecoder().decode(body);
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

function streamed(chunks: () => Generator<string>): Response {
  const iterator = chunks();
  const encoder = new TextEncoder();
  return new Response(
    new ReadableStream({
      pull: (controller) => {
        const next = iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      },
    }),
    { headers: { "content-type": "application/yaml" } },
  );
}
