import { describe, expect, test } from "bun:test";
import type { HostAgentStatus } from "../../../lib/hostagent/events.ts";
import type { GuestService, RunningGuestService } from "../../../lib/hostagent/guest-service.ts";
import { type ServiceContextBase, startServices } from "../../../lib/hostagent/start-services.ts";

function harness(deadlineInMs: number) {
  const status: HostAgentStatus = { running: false, degraded: false, exiting: false, errors: [] };
  const logged: string[] = [];
  const stopped = new AbortController();
  // The services below read only the logger and the signal of their context.
  const base = {
    log: { error: (line: string) => logged.push(line), warn: () => undefined, info: () => undefined },
    signal: stopped.signal,
  } as unknown as ServiceContextBase;
  const running: RunningGuestService[] = [];
  const state = { emit: (patch: Partial<HostAgentStatus>) => Object.assign(status, patch), status, running, deadline: Date.now() + deadlineInMs };
  return { status, logged, stopped, base, running, state };
}

function service(name: string, start: () => Promise<RunningGuestService>): GuestService {
  return { name, waitingFor: `the ${name}`, enabled: () => true, start };
}

const runningService = (): RunningGuestService => ({ stop: async () => undefined });

describe("startServices()", () => {
  test("reports each service ready once its start resolves, in order", async () => {
    const h = harness(5_000);
    const order: string[] = [];
    const services = ["mounts", "ports"].map((name) => service(name, async () => (order.push(name), runningService())));
    await startServices(services, h.base, h.state);
    expect(order).toEqual(["mounts", "ports"]);
    expect(h.status.services).toEqual({ mounts: { state: "ready" }, ports: { state: "ready" } });
    expect(h.running).toHaveLength(2);
    expect(h.status.degraded).toBe(false);
  });

  test("a start that fails leaves that service degraded with its reason and starts the next", async () => {
    const h = harness(5_000);
    const services = [service("mounts", () => Promise.reject(new Error("cannot mount /x"))), service("ports", async () => runningService())];
    await startServices(services, h.base, h.state);
    expect(h.status.services).toEqual({ mounts: { state: "degraded", message: "cannot mount /x" }, ports: { state: "ready" } });
    expect(h.status.degraded).toBe(true);
    expect(h.logged).toEqual(["mounts: cannot mount /x"]);
  });

  test("a start that never ends is not waited for past the deadline: degraded with a reason, and the next one starts", async () => {
    const h = harness(100);
    const started = performance.now();
    const services = [service("mounts", () => new Promise(() => undefined)), service("ports", async () => runningService())];
    await startServices(services, h.base, h.state);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(h.status.services?.mounts).toEqual({ state: "degraded", message: "still waiting for the mounts at the start's deadline; the service goes on trying" });
    expect(h.status.degraded).toBe(true);
    expect(h.logged).toEqual(["mounts: still waiting for the mounts at the start's deadline; the service goes on trying"]);
    // Past the deadline a service that starts at once is still taken as started.
    expect(h.status.services?.ports).toEqual({ state: "ready" });
  });

  test("a service that gets there after the deadline is kept (to be stopped) and reported ready", async () => {
    const h = harness(50);
    const late = Promise.withResolvers<RunningGuestService>();
    await startServices([service("mounts", () => late.promise)], h.base, h.state);
    expect(h.status.services?.mounts?.state).toBe("degraded");
    const running = runningService();
    late.resolve(running);
    await Bun.sleep(10);
    expect(h.running).toEqual([running]);
    expect(h.status.services?.mounts).toEqual({ state: "ready" });
    expect(h.status.degraded).toBe(false);
  });

  test("a late start that fails replaces the deadline's reason with its own", async () => {
    const h = harness(50);
    const late = Promise.withResolvers<RunningGuestService>();
    await startServices([service("mounts", () => late.promise)], h.base, h.state);
    late.reject(new Error("virtiofsd exited"));
    await Bun.sleep(10);
    expect(h.status.services?.mounts).toEqual({ state: "degraded", message: "virtiofsd exited" });
  });
});
