// The sentence a guest clock step becomes in the host agent's events (`den watch`, `den list --json`).
import type { ClockStep } from "../../agent/protocol/messages.ts";

export function clockStepMessage(step: ClockStep): string {
  const off = `${(Math.abs(step.driftMs) / 1000).toFixed(1)} s ${step.driftMs < 0 ? "behind" : "ahead of"} ${step.source === "host" ? "the host's clock" : "the VM's RTC"}`;
  if (step.error !== undefined) return `Cannot set the guest clock, ${off}: ${step.error}`;
  return `the guest clock was ${off}; den set it at ${new Date(step.afterMs).toISOString()} (${step.reason})`;
}
