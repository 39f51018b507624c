// Lima's create/edit flags (`--cpus`, `--mount`, `--set`, …) turned into yq expressions that are applied
// to the template text (create) or to an instance's lima.yaml (start/edit), as lima.md 1.3 describes.
// Pure: every value is checked here and written into the expression as a JSON literal, so a flag value
// can never change the shape of the expression around it.
import { isIP } from "node:net";
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import { DenError, excerpt } from "../errors.ts";
import { Arches, MountTypes, VmTypes } from "./schema.ts";

/** The edit flags as commander hands them over (repeatable flags as lists, switches as booleans). */
export const EditFlagsSchema = z.object({
  cpus: z.string().optional(),
  memory: z.string().optional(),
  disk: z.string().optional(),
  mount: z.array(z.string()).optional(),
  mountType: z.string().optional(),
  mountWritable: z.boolean().optional(),
  mountNone: z.boolean().optional(),
  mountInotify: z.boolean().optional(),
  portForward: z.array(z.string()).optional(),
  vmType: z.string().optional(),
  arch: z.string().optional(),
  param: z.array(z.string()).optional(),
  containerd: z.string().optional(),
  plain: z.boolean().optional(),
  sshPort: z.string().optional(),
  dns: z.array(z.string()).optional(),
  set: z.array(z.string()).optional(),
  network: z.array(z.string()).optional(),
  nestedVirt: z.boolean().optional(),
  video: z.boolean().optional(),
  shell: z.string().optional(),
});
export type EditFlags = z.output<typeof EditFlagsSchema>;

export interface EditFlagsContext {
  /** The host home folder `~` expands to in `--mount`. */
  home: string;
  /** Folder relative `--mount` paths are resolved against. */
  cwd: string;
  /** Keys of the template's `param:` map; `--param` may only set these. */
  params: readonly string[];
  /**
   * False when the flags edit an existing instance: then the create-only flags (`--arch`, `--containerd`,
   * `--disk`, `--vm-type`, `--plain`) are skipped with a warning, as in Lima. Default true.
   */
  newInstance?: boolean;
}

export interface EditFlagsResult {
  /** yq expressions, to be applied in order. */
  exprs: string[];
  warnings: string[];
}

const ContainerdModes: Record<string, string> = {
  user: ".containerd.user = true | .containerd.system = false",
  system: ".containerd.user = false | .containerd.system = true",
  "user+system": ".containerd.user = true | .containerd.system = true",
  "system+user": ".containerd.user = true | .containerd.system = true",
  none: ".containerd.user = false | .containerd.system = false",
};

const CreateOnlyFlags: readonly (keyof EditFlags)[] = ["arch", "containerd", "disk", "vmType", "plain"];

const q = (value: unknown): string => JSON.stringify(value);

/** The yq expressions for the given flags; throws DenError("USAGE") for a value that cannot be used. */
export function editFlagsToYq(flags: EditFlags, ctx: EditFlagsContext): EditFlagsResult {
  const exprs: string[] = [];
  const warnings: string[] = [];
  const newInstance = ctx.newInstance ?? true;
  const given = (key: keyof EditFlags): boolean => {
    const value = flags[key];
    if (value === undefined || value === false || (Array.isArray(value) && value.length === 0)) return false;
    if (!newInstance && CreateOnlyFlags.includes(key)) {
      const flag = flagName(key);
      warnings.push(`Flag ${flag} only applies when an instance is created; ignoring it`);
      return false;
    }
    return true;
  };

  if (given("cpus")) exprs.push(`.cpus = ${parseCpus(flags.cpus!)}`);
  if (given("dns")) {
    const addresses = splitList(flags.dns!).map((address) => {
      if (isIP(address) === 0) usage("--dns", address, "expected an IP address", "e.g. --dns 1.1.1.1 or --dns 1.1.1.1,8.8.8.8");
      return address;
    });
    exprs.push(`.dns += [${addresses.map(q).join(", ")}] | .dns |= unique | .hostResolver.enabled = false`);
    warnings.push(`Disabling the host resolver, as custom DNS addresses (${addresses.join(", ")}) are given`);
  }
  if (given("memory")) exprs.push(`.memory = ${q(`${parseGiB("--memory", flags.memory!)}GiB`)}`);
  if (flags.mountNone && (flags.mount?.length || flags.mountWritable)) {
    throw new DenError("USAGE", `Cannot combine --mount-none with ${flags.mount?.length ? "--mount" : "--mount-writable"}`, {
      hint: "--mount-none removes every mount; drop one of the flags",
    });
  }
  if (given("mountNone")) exprs.push(".mounts = null");
  if (given("mount")) {
    // Reversed, as Lima does: when two mounts overlap, the later flag takes precedence.
    const mounts = splitList(flags.mount!).map((text) => parseMount(text, ctx)).reverse();
    const literals = mounts.map((mount) => `{"location": ${q(mount.location)}, "mountPoint": ${q(mount.location)}, "writable": ${mount.writable}}`);
    exprs.push(`.mounts = [${literals.join(", ")}] + .mounts`);
  }
  if (given("mountType")) exprs.push(`.mountType = ${q(oneOf("--mount-type", flags.mountType!, MountTypes))}`);
  if (given("mountInotify")) {
    warnings.push("Flag --mount-inotify is experimental");
    exprs.push(".mountInotify = true");
  }
  if (given("mountWritable")) exprs.push(".mounts[].writable = true");
  if (given("network")) {
    const networks = splitList(flags.network!).map((name) => {
      if (name === "vzNAT") return `{"vzNAT": true}`;
      if (name.startsWith("lima:") && name.length > "lima:".length) return `{"lima": ${q(name.slice("lima:".length))}}`;
      return usage("--network", name, 'expected "vzNAT" or "lima:NAME"', "e.g. --network lima:shared");
    });
    exprs.push(`.networks += [${networks.join(", ")}] | .networks |= unique_by(.lima)`);
  }
  if (given("nestedVirt")) exprs.push(".nestedVirtualization = true");
  if (given("param")) {
    for (const text of flags.param!) {
      const [key, value] = parseParam(text, ctx.params);
      exprs.push(`.param[${q(key)}] = ${q(value)}`);
    }
  }
  if (given("portForward")) {
    const rules = flags.portForward!.map(parsePortForward);
    const literals = rules.map((rule) => `{"guestPort": ${rule.guestPort}, "hostPort": ${rule.hostPort}, "static": ${rule.static}}`);
    exprs.push(`.portForwards += [${literals.join(", ")}]`);
  }
  if (given("shell")) {
    const shell = flags.shell!;
    if (!shell.startsWith("/")) usage("--shell", shell, "expected an absolute path in the guest", "e.g. --shell /bin/zsh");
    exprs.push(`.user.shell = ${q(shell)}`);
  }
  if (given("sshPort")) exprs.push(`.ssh.localPort = ${parsePort("--ssh-port", flags.sshPort!, { allowZero: true })}`);
  if (given("video")) exprs.push(`.video.display = "default"`);
  if (given("arch")) exprs.push(`.arch = ${q(oneOf("--arch", flags.arch!, [...Arches, "default"]))}`);
  if (given("containerd")) {
    const expr = ContainerdModes[flags.containerd!];
    if (expr === undefined) usage("--containerd", flags.containerd!, "expected user, system, user+system or none", "e.g. --containerd none");
    exprs.push(expr!);
  }
  if (given("disk")) exprs.push(`.disk = ${q(`${parseGiB("--disk", flags.disk!)}GiB`)}`);
  if (given("vmType")) exprs.push(`.vmType = ${q(oneOf("--vm-type", flags.vmType!, VmTypes))}`);
  if (given("plain")) exprs.push(".plain = true");
  // Last, so a --set expression sees (and may adjust) what the other flags wrote.
  if (given("set")) {
    for (const expr of flags.set!) {
      if (expr.trim() === "") usage("--set", expr, "the expression is empty", "e.g. --set '.cpus = 4'");
      exprs.push(expr);
    }
  }
  return { exprs, warnings };
}

/** `mountType` → `--mount-type` */
function flagName(key: string): string {
  const name = key === "nestedVirt" ? "nested-virt" : key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
  return `--${name}`;
}

/** A flag value quoted back is a short escaped excerpt: argv can hold 10 KB of digits or escape sequences. */
function usage(flag: string, value: string, reason: string, hint: string): never {
  throw new DenError("USAGE", `Cannot use ${flag} "${excerpt(value)}": ${reason}`, { hint });
}

/** Repeated flags and comma lists both give several values (`--mount a,b --mount c`). */
function splitList(values: readonly string[]): string[] {
  return values.flatMap((value) => value.split(",")).map((value) => value.trim()).filter((value) => value !== "");
}

function parseCpus(text: string): number {
  // Lima parses the flag as an int: " 2" is refused there too.
  if (!/^\d+$/.test(text) || Number(text) < 1) usage("--cpus", text, "expected a whole number of at least 1", "e.g. --cpus 4");
  return Number(text);
}

/** A GiB amount as Lima writes it into the size string: `4`, `0.5`, `1.5` (no trailing zeros). */
function parseGiB(flag: string, text: string): string {
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (!/^(\d+\.?\d*|\.\d+)$/.test(trimmed) || !Number.isFinite(value) || value <= 0) {
    usage(flag, text, "expected a positive number of GiB", `e.g. ${flag} 4 or ${flag} 0.5 (the unit is always GiB)`);
  }
  return String(value);
}

function parsePort(flag: string, text: string, options: { allowZero: boolean }): number {
  const min = options.allowZero ? 0 : 1;
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > 65535) {
    usage(flag, text, `expected a port number from ${min} to 65535`, `e.g. ${flag} 2222${options.allowZero ? " (0 picks a free port)" : ""}`);
  }
  return Number(text);
}

function oneOf<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) usage(flag, value, `expected one of ${choices.join(", ")}`, `e.g. ${flag} ${choices[0]}`);
  return value as T;
}

function parseMount(text: string, ctx: EditFlagsContext): { location: string; writable: boolean } {
  const writable = text.endsWith(":w");
  const path = writable ? text.slice(0, -2) : text;
  if (path === "") usage("--mount", text, "the folder is empty", "e.g. --mount ~/src:w");
  let location: string;
  if (path === "~") location = ctx.home;
  else if (path.startsWith("~/")) location = resolve(ctx.home, path.slice(2));
  else if (path.startsWith("~")) return usage("--mount", text, "only the own home folder can be written as ~", "write the absolute path");
  else location = isAbsolute(path) ? resolve(path) : resolve(ctx.cwd, path);
  return { location, writable };
}

function parseParam(text: string, params: readonly string[]): [string, string] {
  const equals = text.indexOf("=");
  if (equals <= 0) usage("--param", text, "expected KEY=VALUE", "e.g. --param containerdSnapshotter=true");
  const key = text.slice(0, equals);
  if (!params.includes(key)) {
    const known = params.length > 0 ? `the template's parameters are ${params.join(", ")}` : "the template has no parameters";
    throw new DenError("USAGE", `Cannot use --param "${excerpt(text)}": the template has no parameter "${excerpt(key, 40)}"`, {
      hint: `${known}; see its "param:" section`,
    });
  }
  return [key, text.slice(equals + 1)];
}

function parsePortForward(text: string): { hostPort: number; guestPort: number; static: boolean } {
  const [ports = "", ...options] = text.split(",");
  const match = /^(\d+):(\d+)$/.exec(ports.trim());
  if (!match) usage("--port-forward", text, "expected HOST:GUEST", "e.g. --port-forward 8080:80 or --port-forward 8080:80,static=true");
  const hostPort = parsePort("--port-forward", match![1]!, { allowZero: false });
  const guestPort = parsePort("--port-forward", match![2]!, { allowZero: false });
  let isStatic = false;
  for (const option of options) {
    const [name, value] = option.trim().split("=");
    if (name !== "static" || (value !== "true" && value !== "false")) {
      usage("--port-forward", text, `unknown option "${excerpt(option.trim(), 40)}"`, "the only option is static=true or static=false");
    }
    isStatic = value === "true";
  }
  return { hostPort, guestPort, static: isStatic };
}
