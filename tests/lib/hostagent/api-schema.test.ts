import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { DenError } from "../../../lib/errors.ts";
import { getHostAgentInfo, hostAgentRequest } from "../../../lib/hostagent/api-client.ts";
import { ApiErrorBodySchema, type HostAgentInfo, HostAgentInfoSchema } from "../../../lib/hostagent/api-schema.ts";
import { type ApiHandlers, startApiServer } from "../../../lib/hostagent/api-server.ts";
import { HostAgentSock } from "../../../lib/store/filenames.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

describe("HostAgentInfoSchema", () => {
  test.each([
    {
      name: "fills degraded, errors and services when an older host agent leaves them out",
      body: { sshLocalPort: 60022, status: "Running" },
      want: { sshLocalPort: 60022, status: "Running", degraded: false, errors: [], services: {} },
    },
    {
      name: "keeps the boot stage and the services' reports",
      body: { sshLocalPort: 0, status: "Starting", stage: "kernel", services: { mounts: { state: "starting", message: "waiting for the mounts" } } },
      want: { sshLocalPort: 0, status: "Starting", stage: "kernel", degraded: false, errors: [], services: { mounts: { state: "starting", message: "waiting for the mounts" } } },
    },
  ])("HostAgentInfoSchema $name", ({ body, want }) => {
    expect(HostAgentInfoSchema.parse(body) as unknown).toEqual(want);
  });

  test.each([
    { name: "a status den list does not know", body: { sshLocalPort: 1, status: "Stopped" } },
    { name: "a negative port", body: { sshLocalPort: -1, status: "Running" } },
    { name: "an unknown boot stage", body: { sshLocalPort: 1, status: "Starting", stage: "bios" } },
    { name: "a service report with an unknown state", body: { sshLocalPort: 1, status: "Running", services: { ports: { state: "gone" } } } },
  ])("HostAgentInfoSchema rejects $name", ({ body }) => {
    expect(HostAgentInfoSchema.safeParse(body).success).toBe(false);
  });

  test("ApiErrorBodySchema needs a message", () => {
    expect(ApiErrorBodySchema.safeParse({ message: "No route" }).success).toBe(true);
    expect(ApiErrorBodySchema.safeParse({ error: "No route" }).success).toBe(false);
  });
});

describe("the real server and client agree on the schema", () => {
  const info: HostAgentInfo = {
    sshLocalPort: 60022,
    status: "Running",
    degraded: true,
    errors: ["port 8080 is in use"],
    services: { ports: { state: "degraded", message: "port 8080 is in use", data: { active: [] } } },
  };
  const handlers: ApiHandlers = {
    info: () => info,
    pause: async () => {
      throw new DenError("USAGE", "Cannot pause: the VM has not started yet");
    },
    resume: async () => {},
    stop: () => {},
  };

  test("getHostAgentInfo() reads what startApiServer() answers to GET /v1/info", async () => {
    const dir = await makeTempDir("den-api-");
    const server = await startApiServer(join(dir, HostAgentSock), handlers);
    try {
      expect(await getHostAgentInfo(dir, { timeoutMs: 2000 })).toEqual(info);
    } finally {
      await server.close();
    }
  });

  test("hostAgentRequest() shows the message of the server's error body", async () => {
    const dir = await makeTempDir("den-api-");
    const server = await startApiServer(join(dir, HostAgentSock), handlers);
    try {
      const error = await hostAgentRequest(dir, { method: "POST", path: "/v1/pause", timeoutMs: 2000 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DenError);
      expect((error as DenError).message).toBe(`Host agent of instance "${dir.split("/").at(-1)}" refused POST /v1/pause: Cannot pause: the VM has not started yet`);
      expect((error as DenError).details).toEqual({ status: 409 });
    } finally {
      await server.close();
    }
  });
});
