// Whether the guest agent is there to carry forwards. A disconnected agent is a `no-agent` failure at once; a
// connecting one only after a grace period, since every boot starts with one. Its connect clears the failure.
import type { GuestAgentClient, GuestAgentState } from "../guestagent/guest-agent-client.ts";
import type { ForwardLedger } from "./forward-ledger.ts";

/** Follows the agent's state into the ledger (the failure key `agent`); returns the function that stops it. */
export function watchAgentPresence(
  agent: GuestAgentClient,
  options: { ledger: ForwardLedger; graceMs?: number; onConnected: () => void; onGraceOver: () => void },
): () => void {
  const { ledger } = options;
  const onState = (state: GuestAgentState) => {
    if (state.state === "connected") {
      ledger.clear("agent");
      options.onConnected();
    } else if (state.state === "disconnected") {
      ledger.fail("agent", {
        reason: "no-agent",
        message: `Cannot forward guest ports: the guest agent is disconnected (${state.reason})`,
        hint: "den reconnects by itself; if this stays, run systemctl status den-guestagent in the guest (den shell)",
      });
    }
  };
  const graceTimer = setTimeout(() => {
    if (agent.state.state === "connecting") {
      ledger.fail("agent", {
        reason: "no-agent",
        message: "Cannot forward guest ports: the guest agent has not connected yet",
        hint: "run systemctl status den-guestagent in the guest (den shell) and see ha.stderr.log in the instance folder",
      });
    }
    options.onGraceOver();
  }, options.graceMs ?? 5_000);
  graceTimer.unref?.();
  const unsubscribe = agent.onState(onState);
  onState(agent.state);
  return () => {
    clearTimeout(graceTimer);
    unsubscribe();
  };
}
