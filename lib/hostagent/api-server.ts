// The host agent's HTTP API on ha.sock (HTTP/1.1 over a unix socket, JSON bodies), as Lima serves /v1/info. den adds
// pause, resume and stop so the CLI never talks to QEMU directly: the host agent owns the VM and knows its state.
import { chmod, rm } from "node:fs/promises";
import { DenError } from "../errors.ts";
import { type ApiErrorBody, type HostAgentInfo, type SnapshotAction, SnapshotActions, type SnapshotList, SnapshotRequestSchema } from "./api-schema.ts";

export interface ApiHandlers {
  info(): HostAgentInfo;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Starts the shutdown and returns at once; the caller follows ha.stdout.log for `exiting`. */
  stop(): void;
  /** The VM's snapshots; absent, the snapshot routes answer 501. */
  snapshots?: SnapshotHandlers;
}

/** `POST /v1/snapshots/{create,apply,delete}` with `{tag}` and `GET /v1/snapshots`. */
export interface SnapshotHandlers {
  run(action: SnapshotAction, tag: string): Promise<void>;
  /** The backend's table of snapshots. */
  list(): Promise<string>;
}

export interface ApiServer {
  close(): Promise<void>;
}

export async function startApiServer(socketPath: string, handlers: ApiHandlers): Promise<ApiServer> {
  // A socket file left by a killed host agent would make listen() fail with EADDRINUSE.
  await rm(socketPath, { force: true });
  const server = Bun.serve({
    unix: socketPath,
    fetch: (request) => route(request, handlers),
    error: (error) => errorJson(500, error.message),
  });
  // Whoever can connect can stop and pause the VM. The socket is made with the umask's mode (0777 under umask 000);
  // the 0700 instance folder keeps others out until this chmod makes the socket itself the owner's only.
  try {
    await chmod(socketPath, 0o600);
  } catch (error) {
    await server.stop(true);
    throw new DenError("IO", `Cannot make "${socketPath}" private: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      cause: error,
      hint: "check that the instance folder belongs to you and its file system supports permissions",
    });
  }
  return {
    close: async () => {
      await server.stop(true);
      await rm(socketPath, { force: true });
    },
  };
}

async function route(request: Request, handlers: ApiHandlers): Promise<Response> {
  const { pathname } = new URL(request.url);
  const key = `${request.method} ${pathname}`;
  try {
    switch (key) {
      case "GET /v1/info":
        return json(200, handlers.info());
      case "POST /v1/pause":
        await handlers.pause();
        return json(200, { status: "Paused" });
      case "POST /v1/resume":
        await handlers.resume();
        return json(200, { status: "Running" });
      case "POST /v1/stop":
        handlers.stop();
        return json(202, { status: "Stopping" });
      case "GET /v1/snapshots": {
        if (!handlers.snapshots) return errorJson(501, "This host agent has no snapshots");
        const body: SnapshotList = { snapshots: await handlers.snapshots.list() };
        return json(200, body);
      }
      default:
        return (await snapshotRoute(request, key, handlers)) ?? errorJson(404, `No route for ${key}`);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return errorJson(error instanceof DenError && error.code === "USAGE" ? 409 : 500, message);
  }
}

/** `POST /v1/snapshots/<action>` with `{tag}`; undefined for any other route. */
async function snapshotRoute(request: Request, key: string, handlers: ApiHandlers): Promise<Response | undefined> {
  const action = /^POST \/v1\/snapshots\/([a-z]+)$/.exec(key)?.[1];
  if (action === undefined || !(SnapshotActions as readonly string[]).includes(action)) return undefined;
  if (!handlers.snapshots) return errorJson(501, "This host agent has no snapshots");
  const parsed = SnapshotRequestSchema.safeParse(await request.json().catch(() => undefined));
  if (!parsed.success) return errorJson(400, `Invalid snapshot request: ${parsed.error.issues[0]?.message ?? "expected {tag}"}`);
  await handlers.snapshots.run(action as SnapshotAction, parsed.data.tag);
  return json(200, { tag: parsed.data.tag });
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

function errorJson(status: number, message: string): Response {
  const body: ApiErrorBody = { message };
  return json(status, body);
}
