import { describe, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { getHostAgentInfo, hostAgentRequest } from "../../../lib/hostagent/api-client.ts";
import { infoResponse, serveStandInHostAgent } from "./support/stand-in-host-agent.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";
import { makeTempDir } from "../../support/temp-dir.ts";

async function instanceDir(): Promise<string> {
  return makeTempDir("den-ha-");
}

describe("hostAgentRequest()", () => {
  test("returns the parsed JSON answer and sends the JSON body", async () => {
    const dir = await instanceDir();
    let seen: unknown;
    await using agent = serveStandInHostAgent(dir, {
      "POST /v1/echo": async (request) => {
        seen = await request.json();
        return Response.json({ ok: true });
      },
    });
    expect(await hostAgentRequest(dir, { method: "POST", path: "/v1/echo", timeoutMs: 2000, body: { a: 1 } })).toEqual({ ok: true });
    expect(seen).toEqual({ a: 1 });
    expect(agent.requests).toEqual(["POST /v1/echo"]);
  });

  test("returns undefined for an empty 202 answer", async () => {
    const dir = await instanceDir();
    await using _agent = serveStandInHostAgent(dir, { "POST /v1/stop": () => new Response(null, { status: 202 }) });
    expect(await hostAgentRequest(dir, { method: "POST", path: "/v1/stop", timeoutMs: 2000 })).toBeUndefined();
  });

  test.each([
    { name: "a JSON message", response: () => Response.json({ message: "not paused" }, { status: 409 }), want: 'refused POST /v1/x: not paused' },
    { name: "no body", response: () => new Response(null, { status: 500 }), want: "refused POST /v1/x: HTTP 500" },
  ])("reports an error answer with $name", async ({ response, want }) => {
    const dir = await instanceDir();
    await using _agent = serveStandInHostAgent(dir, { "POST /v1/x": response });
    const error = await rejectedDenError(hostAgentRequest(dir, { method: "POST", path: "/v1/x", timeoutMs: 2000 }));
    expect(error.code).toBe("HOST_AGENT");
    expect(error.message).toContain(want);
    expect(error.hint).toContain("ha.stderr.log");
  });

  test("says the host agent is not running when ha.sock does not exist", async () => {
    const dir = await instanceDir();
    const error = await rejectedDenError(hostAgentRequest(dir, { method: "GET", path: "/v1/info", timeoutMs: 2000 }));
    expect(error.code).toBe("HOST_AGENT");
    expect(error.message).toContain('ha.sock" does not exist');
    expect(error.hint).toContain("host agent is not running");
  });

  test("says nothing listens when ha.sock is a stale file", async () => {
    const dir = await instanceDir();
    await writeFile(join(dir, "ha.sock"), "");
    const error = await rejectedDenError(hostAgentRequest(dir, { method: "GET", path: "/v1/info", timeoutMs: 2000 }));
    expect(error.message).toContain("nothing listens on its socket");
  });

  test("gives up after timeoutMs", async () => {
    const dir = await instanceDir();
    await using _agent = serveStandInHostAgent(dir, {
      "GET /v1/info": async () => {
        await Bun.sleep(1000);
        return infoResponse("Running");
      },
    });
    const started = Date.now();
    const error = await rejectedDenError(hostAgentRequest(dir, { method: "GET", path: "/v1/info", timeoutMs: 100 }));
    expect(Date.now() - started).toBeLessThan(900);
    expect(error.message).toContain("did not answer GET /v1/info within 100 ms");
    expect(error.hint).toContain("den stop -f");
  });
});

describe("getHostAgentInfo()", () => {
  test("parses and fills the info answer", async () => {
    const dir = await instanceDir();
    await using _agent = serveStandInHostAgent(dir, { "GET /v1/info": () => Response.json({ sshLocalPort: 1234, status: "Starting", stage: "kernel" }) });
    expect(await getHostAgentInfo(dir, { timeoutMs: 2000 })).toEqual({ sshLocalPort: 1234, status: "Starting", stage: "kernel", degraded: false, errors: [], services: {} });
  });

  test("rejects an answer of the wrong shape", async () => {
    const dir = await instanceDir();
    await using _agent = serveStandInHostAgent(dir, { "GET /v1/info": () => Response.json({ status: "Dancing" }) });
    const error = await rejectedDenError(getHostAgentInfo(dir, { timeoutMs: 2000 }));
    expect(error.code).toBe("HOST_AGENT");
    expect(error.message).toContain("GET /v1/info");
  });
});
