// Starting the guest services (guest-services.ts) once the boot scripts are done: one after another, each reporting
// under `services.<name>` in the host agent's status, and none holding den start past its deadline.
import { sleep } from "../process/sleep.ts";
import type { HostAgentStatus } from "./events.ts";
import type { GuestService, GuestServiceContext, GuestServiceReport, RunningGuestService } from "./guest-service.ts";

export type ServiceContextBase = Omit<GuestServiceContext, "report">;

/**
 * Starts the guest services this instance needs, one after another, each reporting under `services.<name>`. A service
 * that fails to start leaves the instance degraded with its reason; the boot goes on. So does one still starting at
 * `deadline` (epoch ms): it is reported degraded, not waited for, and may still report ready when it gets there; a
 * start that never ends must not turn into den start's timeout with no word on what hung.
 */
export async function startServices(
  services: readonly GuestService[],
  base: ServiceContextBase,
  state: { emit: (patch: Partial<HostAgentStatus>) => void; status: HostAgentStatus; running: RunningGuestService[]; deadline: number },
): Promise<void> {
  const publish = (name: string, report: GuestServiceReport) => {
    const services = { ...state.status.services, [name]: report };
    // A failed readiness check (in errors) keeps the instance degraded whatever a service reports later.
    const degraded = Object.values(services).some((entry) => entry.state === "degraded") || state.status.errors.length > 0;
    state.emit({ services, degraded });
  };
  for (const service of services) {
    if (!service.enabled(base.config)) continue;
    publish(service.name, { state: "starting", message: `waiting for ${service.waitingFor}` });
    try {
      const starting = service.start({ ...base, report: (report) => publish(service.name, report) });
      const started = await withinDeadline(starting, state.deadline, base.signal);
      if (started === undefined) {
        const message = `still waiting for ${service.waitingFor} at the start's deadline; the service goes on trying`;
        base.log.error(`${service.name}: ${message}`);
        publish(service.name, { state: "degraded", message });
        // Stopped with the others if it gets there, and then ready unless it reported otherwise meanwhile.
        starting
          .then((late) => {
            state.running.push(late);
            if (state.status.services?.[service.name]?.message === message) publish(service.name, { state: "ready" });
          })
          .catch((error: unknown) => publish(service.name, { state: "degraded", message: error instanceof Error ? error.message : String(error) }));
        continue;
      }
      state.running.push(started);
      if (state.status.services?.[service.name]?.state === "starting") publish(service.name, { ...state.status.services[service.name], state: "ready", message: undefined });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      base.log.error(`${service.name}: ${message}`);
      publish(service.name, { state: "degraded", message });
    }
  }
}

/** What `work` resolves with, or undefined once `deadline` (epoch ms) passed or `signal` aborted first. */
async function withinDeadline<T>(work: Promise<T>, deadline: number, signal: AbortSignal): Promise<T | undefined> {
  const timer = new AbortController();
  try {
    return await Promise.race([work, sleep(Math.max(0, deadline - Date.now()), AbortSignal.any([signal, timer.signal])).then(() => undefined, () => undefined)]);
  } finally {
    timer.abort();
  }
}
