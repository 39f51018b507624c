// The client side of the host agent's HTTP API on `<instance>/ha.sock`: JSON over HTTP/1.1 on a unix socket.
// Every failure becomes a DenError that says whether the host agent is gone, hung, or refused the request.
import { basename, join } from "node:path";
import { DenError } from "../errors.ts";
import { HostAgentSock, HostAgentStderrLog } from "../store/filenames.ts";
import { ApiErrorBodySchema, type HostAgentInfo, HostAgentInfoSchema, type SnapshotAction, SnapshotListSchema } from "./api-schema.ts";

export interface HostAgentRequest {
  method: "GET" | "POST";
  /** `/v1/info`, `/v1/stop`, … */
  path: string;
  timeoutMs: number;
  /** Sent as JSON when given. */
  body?: unknown;
}

/** Sends one request and returns the parsed JSON answer (undefined for an empty body, as `202` sends). */
export async function hostAgentRequest(instanceDir: string, request: HostAgentRequest): Promise<unknown> {
  const socket = join(instanceDir, HostAgentSock);
  const name = basename(instanceDir);
  const what = `${request.method} ${request.path}`;
  let response: Response;
  try {
    response = await fetch(`http://localhost${request.path}`, {
      unix: socket,
      method: request.method,
      signal: AbortSignal.timeout(request.timeoutMs),
      ...(request.body !== undefined && { body: JSON.stringify(request.body), headers: { "content-type": "application/json" } }),
    });
  } catch (error) {
    throw connectError(error, { name, instanceDir, socket, what, timeoutMs: request.timeoutMs });
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw connectError(error, { name, instanceDir, socket, what, timeoutMs: request.timeoutMs });
  }
  if (!response.ok) {
    const message = errorMessage(text) ?? `HTTP ${response.status}`;
    throw new DenError("HOST_AGENT", `Host agent of instance "${name}" refused ${what}: ${message}`, {
      hint: `see ${join(instanceDir, HostAgentStderrLog)}`,
      details: { status: response.status },
    });
  }
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new DenError("HOST_AGENT", `Cannot read the host agent's answer to ${what} for instance "${name}": not JSON`, {
      cause: error,
      hint: "den and the running host agent may be different versions: restart the instance with den stop and den start",
    });
  }
}

/** `GET /v1/info`, checked against HostAgentInfoSchema. */
export async function getHostAgentInfo(instanceDir: string, options: { timeoutMs: number }): Promise<HostAgentInfo> {
  const answer = await hostAgentRequest(instanceDir, { method: "GET", path: "/v1/info", timeoutMs: options.timeoutMs });
  const parsed = HostAgentInfoSchema.safeParse(answer);
  if (!parsed.success) {
    throw new DenError("HOST_AGENT", `Cannot read the host agent's answer to GET /v1/info for instance "${basename(instanceDir)}": ${parsed.error.issues[0]?.message ?? "unexpected shape"}`, {
      hint: "den and the running host agent may be different versions: restart the instance with den stop and den start",
    });
  }
  return parsed.data;
}

/**
 * `POST /v1/snapshots/<action>` with `{tag}` (create, apply, delete), or `GET /v1/snapshots` ("list"), which returns
 * the backend's table; the other actions return "".
 */
export async function hostAgentSnapshot(instanceDir: string, action: SnapshotAction | "list", options: { tag?: string; timeoutMs: number }): Promise<string> {
  if (action !== "list") {
    await hostAgentRequest(instanceDir, { method: "POST", path: `/v1/snapshots/${action}`, timeoutMs: options.timeoutMs, body: { tag: options.tag } });
    return "";
  }
  const answer = await hostAgentRequest(instanceDir, { method: "GET", path: "/v1/snapshots", timeoutMs: options.timeoutMs });
  const parsed = SnapshotListSchema.safeParse(answer);
  if (!parsed.success) {
    throw new DenError("HOST_AGENT", `Cannot read the host agent's answer to GET /v1/snapshots for instance "${basename(instanceDir)}": ${parsed.error.issues[0]?.message ?? "unexpected shape"}`, {
      hint: "den and the running host agent may be different versions: restart the instance with den stop and den start",
    });
  }
  return parsed.data.snapshots;
}

interface RequestPlace {
  name: string;
  instanceDir: string;
  socket: string;
  what: string;
  timeoutMs: number;
}

function connectError(error: unknown, place: RequestPlace): DenError {
  const code = (error as { code?: unknown }).code;
  const errorName = (error as { name?: unknown }).name;
  if (errorName === "TimeoutError" || errorName === "AbortError") {
    return new DenError("HOST_AGENT", `Host agent of instance "${place.name}" did not answer ${place.what} within ${place.timeoutMs} ms`, {
      cause: error,
      hint: `the host agent may be stuck: see ${join(place.instanceDir, HostAgentStderrLog)}, or force a stop with den stop -f ${place.name}`,
    });
  }
  if (code === "ENOENT" || code === "ECONNREFUSED" || code === "ENOTSOCK") {
    return new DenError("HOST_AGENT", `Cannot reach the host agent of instance "${place.name}": ${code === "ENOENT" ? `"${place.socket}" does not exist` : "nothing listens on its socket"}`, {
      cause: error,
      hint: `the host agent is not running; start the instance with den start ${place.name}`,
    });
  }
  return new DenError("HOST_AGENT", `Cannot send ${place.what} to the host agent of instance "${place.name}": ${(error as Error).message ?? String(error)}`, {
    cause: error,
    hint: `see ${join(place.instanceDir, HostAgentStderrLog)}`,
  });
}

function errorMessage(text: string): string | undefined {
  try {
    const parsed = ApiErrorBodySchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.message : undefined;
  } catch {
    return text.trim() === "" ? undefined : text.trim().slice(0, 200);
  }
}
