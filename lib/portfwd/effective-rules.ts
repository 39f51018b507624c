// The rule list the forwarder matches guest listeners against, built as Lima's host agent builds it
// (pkg/hostagent/hostagent.go New): ignore rules for the guest's sshd and for the host's SSH port first, then the
// instance's own rules (already template-expanded and defaulted by fillDefaults), then the catch-all default rule that
// forwards every guest loopback or wildcard listener to the same port on the host's 127.0.0.1.
import type { FilledDenYaml, FilledPortForward } from "../config/schema.ts";

/** The guest's sshd port; QEMU's slirp hostfwd already carries it. */
export const SshGuestPort = 22;

export interface EffectiveRulesOptions {
  /** The host port QEMU forwards to the guest's sshd; a guest listener on the same port would collide with it. */
  sshLocalPort: number;
}

/** Lima's FillPortForwardDefaults for a rule den writes itself (not from the YAML). */
export function defaultedRule(rule: Partial<FilledPortForward>): FilledPortForward {
  const guestIPMustBeZero = rule.guestIPMustBeZero ?? false;
  const guestIP = rule.guestIP ?? (guestIPMustBeZero ? "0.0.0.0" : "127.0.0.1");
  const guestPortRange = rule.guestPortRange ?? (rule.guestPort ? [rule.guestPort, rule.guestPort] : [1, 65535]);
  return {
    ...rule,
    guestIP,
    guestIPMustBeZero: rule.guestIPMustBeZero ?? guestIP === "0.0.0.0",
    guestPortRange,
    hostIP: rule.hostIP ?? "127.0.0.1",
    hostPortRange: rule.hostPortRange ?? (rule.hostPort ? [rule.hostPort, rule.hostPort] : [...guestPortRange]),
    proto: rule.proto ?? "any",
    reverse: rule.reverse ?? false,
    ignore: rule.ignore ?? false,
    static: rule.static ?? false,
  };
}

export function effectiveRules(config: Pick<FilledDenYaml, "portForwards">, options: EffectiveRulesOptions): FilledPortForward[] {
  const sshIgnores = [SshGuestPort, options.sshLocalPort]
    .filter((port) => port > 0)
    .map((port) => defaultedRule({ guestIP: "0.0.0.0", guestPort: port, ignore: true }));
  return [...sshIgnores, ...config.portForwards, defaultedRule({})];
}

/**
 * Whether the user switched forwarding off for a whole protocol with leading `ignore` rules over every port (Lima
 * then stops logging "Not forwarding …" for that protocol, since it is what the user asked for).
 */
export function ignoredProtocols(config: Pick<FilledDenYaml, "portForwards">): { tcp: boolean; udp: boolean } {
  const out = { tcp: false, udp: false };
  for (const rule of config.portForwards) {
    if (!rule.ignore || rule.guestPortRange[0] !== 1 || rule.guestPortRange[1] !== 65535) break;
    if (rule.proto !== "udp") out.tcp = true;
    if (rule.proto !== "tcp") out.udp = true;
  }
  return out;
}
