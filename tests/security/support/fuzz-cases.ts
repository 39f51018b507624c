// The bad inputs of the CLI fuzz run, generated from a seed: every command and flag, traversal and odd instance
// names, bad flag values, hostile local and remote templates, yq and Go template expressions, stdin garbage and a
// broken environment. Arguments hold placeholders ({case}, {shared}, {url}, …) that the sandbox fills in per run,
// so the printed command line reads the same on every machine.
import { AcceptableTemplateNames, DeviceLocators, HostileTemplateNames } from "./hostile-files.ts";
import { AcceptableRouteNames, HostileRouteNames, StallingRouteNames } from "./hostile-template-server.ts";
import { seededRandom, type SeededRandom } from "./seeded-random.ts";

/** The DEN_HOME a case starts from (see fuzz-sandbox.ts). */
export type BaseHome = "plain" | "hostile" | "fifo" | "none";
export type StdinKind = "closed" | "yes" | "binary" | "alias-bomb" | "empty" | "invalid-utf8" | "long-line";

export interface FuzzCase {
  /** 1-based position in the generated list; `DEN_FUZZ_ONLY=ID,…` reruns single cases. */
  id: number;
  family: string;
  args: string[];
  /** Extra environment (placeholders allowed); null removes the variable. */
  env: Record<string, string | null>;
  stdin: StdinKind;
  home: BaseHome;
  /** The input is invalid: exit 0 means den took something it must refuse. */
  mustFail: boolean;
  /** The template comes over http: no host secret may reach den's output, DEN_HOME or the working folder. */
  remote: boolean;
}

type CaseSpec = Omit<FuzzCase, "id" | "env" | "stdin" | "home" | "mustFail" | "remote"> & Partial<Pick<FuzzCase, "env" | "stdin" | "home" | "mustFail" | "remote">>;

/** Names that point outside DEN_HOME or at den's own folders; every instance command must refuse them. */
const TraversalNames = ["", ".", "..", "../../victim", "_config", "../neighbour", "../../victim/sub", "{case}/victim", "stopped/../../../victim", ".hidden", "./stopped"] as const;

/** Names argv can carry that are merely odd. */
const OddNames = [
  "a b",
  "名前",
  "émoji😀",
  "x".repeat(10_240),
  "y".repeat(77),
  "\x1b[31mred\x1b[0m",
  "a\nb",
  "a\tb",
  "a\rb",
  "$(id)",
  "`id`",
  "a;b",
  "a:b",
  "stopped\u200b",
  "\u202eevil",
  "a..b",
  "default.yaml",
  "%s%n%x",
  "-",
  "STOPPED",
];

/** Every command that takes an instance name, as argv around the name. */
const NameCommands: ((name: string) => string[])[] = [
  (name) => ["delete", name],
  (name) => ["delete", "-f", name],
  (name) => ["stop", name],
  (name) => ["stop", "-f", name],
  (name) => ["protect", name],
  (name) => ["unprotect", name],
  (name) => ["pause", name],
  (name) => ["resume", name],
  (name) => ["ports", name],
  (name) => ["shell", name, "true"],
  (name) => ["docker", "--instance", name, "ps"],
  (name) => ["kubectl", `--instance=${name}`, "get", "pods"],
  (name) => ["start", name],
  (name) => ["restart", name],
  (name) => ["restart", "-f", name],
  (name) => ["list", name],
  (name) => ["copy", `${name}:/etc/hostname`, "{work}/out"],
  (name) => ["create", "--name", name, "{shared}/valid.yaml"],
  (name) => ["start", "--name", name, "{shared}/valid.yaml"],
  (name) => ["hostagent", name],
  (name) => ["edit", name, "--cpus", "2"],
  (name) => ["clone", name, "fuzz-clone"],
  (name) => ["clone", "stopped", name],
  (name) => ["rename", name, "fuzz-renamed"],
  (name) => ["rename", "stopped", name],
  (name) => ["factory-reset", name],
  (name) => ["snapshot", "list", name],
  (name) => ["snapshot", "create", name, "--tag", "t"],
  (name) => ["watch", name],
  (name) => ["show-ssh", name],
  (name) => ["tunnel", name],
  (name) => ["start-at-login", name],
  (name) => ["disk", "create", name, "--size", "1MiB"],
  (name) => ["disk", "delete", name],
];

/** Instances of the hostile home (see fuzz-sandbox.ts). */
const HostileInstances = ["broken", "binary", "big", "linked", "afile", "pidtrap", "noyaml"];

interface FlagValue {
  value: string;
  /** False when den may reasonably accept the value. */
  bad: boolean;
}
const bad = (...values: string[]): FlagValue[] => values.map((value) => ({ value, bad: true }));
const maybe = (...values: string[]): FlagValue[] => values.map((value) => ({ value, bad: false }));

const EditFlagValues: Record<string, FlagValue[]> = {
  "--cpus": [...bad("-1", "0", "1.5", "abc", "99999999999999999999", "", "1e309", "0x10", "NaN", " 2", "Infinity"), ...maybe("65536")],
  "--memory": [...bad("0", "-1", "1ZB", "4XB", "abc", "1e400", "", "NaN", "0.0000001"), ...maybe("4GiB", "99999999")],
  "--disk": [...bad("1ZB", "0", "-5", "1e400", "abc", ""), ...maybe("100TiB")],
  "--set": [
    ...bad(
      '.images[99999999].arch="x"',
      '.images[-99999999].arch="x"',
      "((((",
      ".a.b.c =",
      '.cpus = "x"',
      "del(.)",
      ". = 5",
      ". = null",
      '.mounts[0].location = "/tmp,path=/,security_model=passthrough"',
      ".cpus = 0",
      '.memory = "0"',
      '.disk = "0"',
      '.env["A=B"] = "x"',
      `${".a".repeat(2000)} = "x"`,
      ".portForwards[100000] = {}",
      `.x = ${"[".repeat(10_000)}${"]".repeat(10_000)}`,
      '.images = "\x1b[2J"',
    ),
    ...maybe(`.env.X = "${"a".repeat(100_000)}"`, '.x = env(HOME)', '.provision[0].file = "{secrets}/host-key"', 'load("{secrets}/shadow")', ".[]"),
  ],
  "--mount": [
    ...bad("a,b", "/nonexistent", "{secrets}/shadow", ":w", "a:w:w", "/tmp,path=/,security_model=passthrough", "\x1b[2J", "{shared}/fifo.yaml"),
    ...maybe("~", "/", "..", "", "{case}/victim:w", "relative/path"),
  ],
  "--port-forward": [...bad("junk", "0:0", "99999:22", "-1:22", "a:b", "1:2,static=maybe", "::", "1:2:3:4:5", "9".repeat(10_000), "8080:80,static=true,extra=1"), ...maybe("127.0.0.1:8080:80")],
  "--vm-type": [...bad("nope", "", "QEMU"), ...maybe("vz")],
  "--arch": bad("nope", "../x", "", "x86_64 "),
  "--containerd": bad("nope", "", "user+system+x"),
  "--mount-type": bad("nope", "", "9p,foo"),
  "--ssh-port": [...bad("-1", "70000", "abc", "", "1e3"), ...maybe("22")],
  "--dns": [...bad("not-ip", "999.1.1.1", "1.1.1.1;rm -rf /", ":::::"), ...maybe("1.1.1.1,", "")],
  "--network": [...bad("junk"), ...maybe("vzNAT", "lima:../../x", "")],
  "--shell": [...bad("", "relative/sh", "/bin/sh\nx"), ...maybe(`/${"s".repeat(10_000)}`)],
  "--param": [...bad("noeq", "=v", "a b=c"), ...maybe(`k=${"v".repeat(100_000)}`, "k=v=w", "{{.x}}=1")],
  "--log-format": bad("x", "", "JSON"),
};

/** How many of a flag's values one run tries (4 unless listed): a sample keeps the run under two minutes. */
const ValuesPerFlag: Record<string, number> = { "--set": 8, "--mount": 6, "--cpus": 5, "--memory": 5, "--containerd": 2, "--mount-type": 2, "--log-format": 2 };

/** yq expressions for `template yq`, `--set`, `list --yq` and `info --yq`. */
const YqExpressions = [
  "(",
  ".[",
  ".a |",
  "..",
  ".images[999999999]",
  ".images[-999999999]",
  `.a${" | .a".repeat(5000)}`,
  `"${"q".repeat(100_000)}"`,
  "$x",
  "env(HOME)",
  'load("{secrets}/shadow")',
  'load_str("{secrets}/host-key")',
  ".[] | .[] | .[] | .[] | .[]",
  "select(",
  "with_entries(.value = 1)",
  `${"(".repeat(10_000)}.${")".repeat(10_000)}`,
  ".images[0:99999999]",
  "explode(.)",
  ". as $x | $x | $x",
  '.a = "\x1b]0;title\x07"',
  "🙂",
  ".cpus + ",
  "[.[] | select(.x == 1)] | length",
];

/** Go templates for `den list --format`. */
const GoTemplates = [
  "{{",
  "{{.Nope}}",
  "{{range}}",
  '{{template "x"}}',
  '{{printf "%0999999999d" 1}}',
  "{{.Name | nope}}",
  `{{${"(".repeat(5000)}.Name${")".repeat(5000)}}}`,
  "{{/* unterminated",
  '{{define "a"}}{{template "a" .}}{{end}}{{template "a" .}}',
  "{{index .Config 99999999}}",
  '{{range $i, $e := .}}{{$e}}{{end}}',
  "{{.Name}}\x1b[2J",
];

interface EnvCase {
  env: Record<string, string | null>;
  /** Commands that must fail in this environment. */
  commands: string[][];
  /** Commands that may succeed (they do not need what the environment breaks). */
  mayPass?: string[][];
  home?: BaseHome;
}

const EnvCases: EnvCase[] = [
  { env: { DEN_HOME: "{work}/file.txt" }, commands: [["list"], ["create", "--name", "e", "{shared}/valid.yaml"], ["delete", "x"], ["info"], ["protect", "x"]], mayPass: [["prune"], ["template", "list"]] },
  { env: { DEN_HOME: "{ro}" }, commands: [["create", "--name", "e", "{shared}/valid.yaml"], ["protect", "stopped"]], mayPass: [["list"]], home: "none" },
  { env: { DEN_HOME: "{ro}/sub" }, commands: [["create", "--name", "e", "{shared}/valid.yaml"]], mayPass: [["list"]], home: "none" },
  { env: { DEN_HOME: "/dev/null" }, commands: [["list"], ["create", "--name", "e", "{shared}/valid.yaml"]] },
  { env: { DEN_HOME: `{case}/${"d".repeat(5000)}` }, commands: [["create", "--name", "e", "{shared}/valid.yaml"], ["list"]] },
  { env: { DEN_HOME: "{shared}/fifo.yaml" }, commands: [["list"]] },
  { env: { DEN_HOME: "relative-home" }, commands: [], mayPass: [["create", "--name", "e", "{shared}/valid.yaml"]] },
  { env: { DEN_HOME: null, HOME: "{work}/file.txt" }, commands: [["list"], ["create", "--name", "e", "{shared}/valid.yaml"]] },
  { env: { XDG_CACHE_HOME: "{work}/file.txt", DEN_CACHE_DIR: null }, commands: [["prune"], ["start", "stopped"]] },
  { env: { DEN_CACHE_DIR: "{work}/file.txt" }, commands: [["prune"], ["start", "stopped"]] },
  { env: { DEN_CACHE_DIR: "{shared}/fifo.yaml" }, commands: [["prune"]] },
  { env: { DEN_TEMPLATES_PATH: "{shared}/fifo.yaml" }, commands: [], mayPass: [["template", "list"], ["create", "template:default"]] },
  { env: { DEN_TEMPLATES_PATH: "{work}/file.txt:{shared}/dir.yaml" }, commands: [["template", "show", "x"]], mayPass: [["template", "list"]] },
  { env: { DEN_TEMPLATES_PATH: "{shared}" }, commands: [["create", "template:fifo"], ["create", "template:binary"], ["template", "show", "template:symlink-loop"]], mayPass: [["template", "list"]] },
  { env: { DEN_QEMU_ACCEL: "junk;rm -rf /" }, commands: [["start", "stopped"]] },
];

const StdinCases: { args: string[]; stdin: StdinKind }[] = [
  { args: ["create", "-"], stdin: "yes" },
  { args: ["create", "-"], stdin: "binary" },
  { args: ["create", "-"], stdin: "alias-bomb" },
  { args: ["create", "-"], stdin: "empty" },
  { args: ["create", "-"], stdin: "invalid-utf8" },
  { args: ["create", "-"], stdin: "long-line" },
  { args: ["create", "--name", "s", "-"], stdin: "closed" },
  { args: ["validate", "-"], stdin: "yes" },
  { args: ["validate", "-"], stdin: "binary" },
  { args: ["template", "yq", "-", "."], stdin: "yes" },
  { args: ["template", "yq", "-", ".cpus"], stdin: "binary" },
  { args: ["start", "-"], stdin: "yes" },
  { args: ["template", "copy", "--embed", "-", "-"], stdin: "alias-bomb" },
];

const CopyArgs: string[][] = [
  ["copy"],
  ["copy", "x"],
  ["copy", "missing:/a", "{work}/b"],
  ["copy", "stopped:/etc/hostname", "{work}/b"],
  ["copy", "{work}/file.txt", "stopped:/tmp/"],
  ["copy", "stopped:", "missing:"],
  ["copy", "-r", "stopped:../../../etc", "{work}/x"],
  ["copy", "stopped:/a:b:c", "{work}/x"],
  ["copy", "{work}/file.txt", `stopped:${"p".repeat(10_000)}`],
  ["copy", "_config:/x", "{work}/y"],
  ["copy", "-v", "stopped:/x", "stopped:/y"],
  ["copy", "prot:/x", "{work}/y"],
];

const ShellArgs: string[][] = [
  ["shell"],
  ["shell", "stopped"],
  ["shell", "missing"],
  ["shell", "--workdir", "../../..", "stopped"],
  ["shell", "--shell", "/bin/sh;rm -rf /", "stopped"],
  ["shell", "stopped", "--", "ls"],
  ["shell", "--workdir", "x".repeat(10_000), "stopped"],
  ["shell", "--reconnect", "stopped"],
  ["shell", "prot", "id"],
];

const MiscArgs: { args: string[]; mustFail: boolean }[] = [
  ...[
    ["nope"],
    ["--nope"],
    ["create", "--nope"],
    ["completion", "nope"],
    ["completion", "bash", "extra"],
    ["help", "nope"],
    ["list", "--format"],
    ["--log-format", "x", "list"],
    ["list", "--log-format", "x"],
    ["--yes", "--tty", "list"],
    ["template", "nope"],
    ["template", "show"],
    ["validate"],
    ["info", "extra"],
    ["-"],
    ["template", "copy", "template:default", "/dev/full"],
    ["template", "copy", "template:default", "{work}"],
    ["template", "copy", "template:default", "{work}/no/such/dir/x.yaml"],
    ["template", "show", "template:../../../etc/passwd"],
    ["template", "show", `template:${"x".repeat(10_000)}`],
    ["create", "template:nope"],
    ["create", "template:../x"],
    ["create", "https://"],
    ["create", "http://[::1"],
    ["create", "ftp://127.0.0.1/y.yaml"],
    ["create", "docker://x"],
    ["create", "{url}/t/valid.yaml", "extra"],
    ["create", "--name", "stopped", "{shared}/valid.yaml"],
    ["start", "--timeout", "abc", "stopped"],
    ["start", "--timeout", "-1s", "stopped"],
    ["start", "--timeout", "99999999999h", "stopped"],
    ["restart", "--timeout", "", "stopped"],
    ["hostagent", "stopped", "--start-deadline", "soon"],
    ["hostagent", "stopped", "--start-deadline", "-5"],
    ["delete", "prot"],
    ["nerdctl", "--instance", "missing", "ps"],
    ["podman", "--instance", "stopped", "ps"],
    ["docker", "--instance"],
    ["kubectl", "--instance", "", "version"],
    ["docker", "--instance", "../../..", "run", "--rm", "-v", "/:/host", "x"],
    ["list", "--filter", "("],
    ["list", "--filter", 'load("{secrets}/shadow")'],
    ["copy", "--backend", "nope", "stopped:/x", "{work}/y"],
    ["tunnel", "--type", "http", "stopped"],
    ["tunnel", "--socks-port", "99999", "stopped"],
    ["yq", "--output-format", "xml", ".", "{shared}/valid.yaml"],
    ["yq", "--indent", "-1", ".", "{shared}/valid.yaml"],
    ["yq", ".", "{secrets}/missing.yaml"],
    ["snapshot", "create", "stopped", "--tag", "../x"],
    ["snapshot", "apply", "stopped", "--tag", "1"],
    ["disk", "create", "d", "--size", "1ZB"],
    ["disk", "resize", "missing", "--size", "1GiB"],
    ["disk", "import", "d", "{shared}/fifo.yaml"],
    ["edit", "stopped", "--set", ".cpus = 0"],
    ["clone", "stopped", "prot"],
    ["rename", "prot", "_config"],
    ["show-ssh", "--format", "nope", "stopped"],
    ["start-at-login", "--enabled", "maybe", "stopped"],
  ].map((args) => ({ args, mustFail: true })),
  ...[["prune", "--keep-referred"], ["validate", "template:default", "template:default"], ["--", "list"], ["list", "--format", "json", "--json", "-q"], ["list", "--list-fields"], ["info"], ["template", "list"]].map(
    (args) => ({ args, mustFail: false }),
  ),
];

export interface GenerateOptions {
  seed: number;
}

export function generateFuzzCases(options: GenerateOptions): FuzzCase[] {
  const random = seededRandom(options.seed);
  const specs: CaseSpec[] = [
    ...traversalNameCases(random),
    ...oddNameCases(random),
    ...hostileHomeCases(random),
    ...editFlagCases(random),
    ...localTemplateCases(random),
    ...remoteTemplateCases(random),
    ...yqCases(random),
    ...goTemplateCases(),
    ...envCases(),
    ...StdinCases.map((item): CaseSpec => ({ family: "stdin", args: item.args, stdin: item.stdin, mustFail: true })),
    ...CopyArgs.map((args): CaseSpec => ({ family: "copy", args })),
    ...ShellArgs.map((args): CaseSpec => ({ family: "shell", args })),
    ...MiscArgs.map((item): CaseSpec => ({ family: "misc", args: item.args, mustFail: item.mustFail })),
  ];
  const cases = specs.map((spec, index): FuzzCase => ({ env: {}, stdin: "closed", home: "plain", mustFail: true, remote: false, ...spec, id: index + 1 }));
  const unsendable = cases.find((fuzzCase) => [...fuzzCase.args, ...Object.values(fuzzCase.env)].some((arg) => arg?.includes("\0")));
  if (unsendable) throw new Error(`case #${unsendable.id} has a NUL byte, which argv and the environment cannot carry`);
  return cases;
}

/** The first five names against every command, the rest against a few each. */
function traversalNameCases(random: SeededRandom): CaseSpec[] {
  return TraversalNames.flatMap((name, index) => {
    const commands = index < 5 ? NameCommands : random.sample(NameCommands, 5);
    return commands.map((command): CaseSpec => ({ family: "traversal-name", args: command(name) }));
  });
}

function oddNameCases(random: SeededRandom): CaseSpec[] {
  return OddNames.map((name): CaseSpec => ({ family: "odd-name", args: random.pick(NameCommands)(name) }));
}

/** Commands on the broken, binary, symlinked, PID-trapped and file-not-folder instances of the hostile home. */
function hostileHomeCases(random: SeededRandom): CaseSpec[] {
  const fixed = [["stop", "-f", "pidtrap"], ["delete", "-f", "pidtrap"], ["restart", "-f", "pidtrap"], ["delete", "-f", "linked"], ["protect", "linked"], ["stop", "-f", "linked"], ["list"], ["list", "--json"], ["ports", "pidtrap"], ["info"], ["prune", "--keep-referred"]];
  const sampled = Array.from({ length: 8 }, () => random.pick(NameCommands)(random.pick(HostileInstances)));
  const fifo = [["list"], ["delete", "fifo"], ["shell", "fifo"]];
  return [
    ...[...fixed, ...sampled].map((args): CaseSpec => ({ family: "hostile-home", args, home: "hostile", mustFail: false })),
    ...fifo.map((args): CaseSpec => ({ family: "hostile-home", args, home: "fifo", mustFail: false })),
  ];
}

function editFlagCases(random: SeededRandom): CaseSpec[] {
  const templates = ["template:default", "{shared}/valid.yaml"];
  const one = Object.entries(EditFlagValues).flatMap(([flag, values]) =>
    random.sample(values, ValuesPerFlag[flag] ?? 4).map((item): CaseSpec => {
      // Some go through `start` on the stopped instance (edit flags apply to it); its images 404, so nothing boots.
      const viaStart = random.chance(0.2) && flag !== "--log-format";
      const args = viaStart ? ["start", "stopped", `${flag}=${item.value}`] : ["create", "--name", `fz${random.int(1, 999)}`, flag, item.value, random.pick(templates)];
      return { family: "edit-flag", args, mustFail: item.bad };
    }),
  );
  const flags = Object.keys(EditFlagValues);
  const combos = Array.from({ length: 8 }, (): CaseSpec => {
    const args = ["create"];
    for (const flag of random.sample(flags, random.int(2, 4))) args.push(flag, random.pick(EditFlagValues[flag] as FlagValue[]).value);
    args.push(random.pick(templates));
    return { family: "edit-flags", args, mustFail: false };
  });
  return [...one, ...combos];
}

function localTemplateCases(random: SeededRandom): CaseSpec[] {
  const locators = [...HostileTemplateNames.map((name) => `{shared}/${name}`), ...DeviceLocators, "{secrets}/shadow"];
  const more: ((locator: string) => string[])[] = [
    (locator) => ["template", "show", locator],
    (locator) => ["template", "copy", "--embed", locator, "-"],
    (locator) => ["template", "yq", locator, ".cpus"],
    (locator) => ["template", "validate", "--fill", locator],
    (locator) => ["start", locator],
    (locator) => ["create", "--set", ".cpus = 2", locator],
  ];
  const acceptable = new Set<string>(AcceptableTemplateNames.map((name) => `{shared}/${name}`));
  return locators.flatMap((locator) => {
    const valid = acceptable.has(locator);
    const cases: CaseSpec[] = [
      { family: "local-template", args: ["create", "--name", "t", locator], mustFail: !valid },
      { family: "local-template", args: ["validate", locator], mustFail: !valid },
    ];
    if (random.chance(0.2)) cases.push({ family: "local-template", args: random.pick(more)(locator), mustFail: false });
    return cases;
  });
}

function remoteTemplateCases(random: SeededRandom): CaseSpec[] {
  return HostileRouteNames.flatMap((route) => {
    const locator = `{url}/t/${route}`;
    const acceptable = AcceptableRouteNames.includes(route);
    const commands: string[][] = StallingRouteNames.includes(route)
      ? [["create", locator]]
      : [["create", locator], ...(random.chance(0.5) ? [random.pick([["validate", locator], ["template", "copy", "--embed", locator, "-"], ["template", "yq", locator, ".env"], ["validate", "--fill", locator]])] : [])];
    return commands.map((args): CaseSpec => ({ family: "remote-template", args, remote: true, mustFail: !acceptable }));
  });
}

function yqCases(random: SeededRandom): CaseSpec[] {
  const commands: ((expr: string) => string[])[] = [
    (expr) => ["template", "yq", "template:default", expr],
    (expr) => ["create", "--name", "y", "--set", expr, "template:default"],
    (expr) => ["list", "--yq", expr],
    (expr) => ["info", "--yq", expr],
  ];
  return YqExpressions.map((expr, index): CaseSpec => {
    const command = index < commands.length ? (commands[index] as (expr: string) => string[]) : random.pick(commands);
    return { family: "yq", args: command(expr), mustFail: false };
  });
}

function goTemplateCases(): CaseSpec[] {
  return GoTemplates.map((format): CaseSpec => ({ family: "go-template", args: ["list", "--format", format], mustFail: false }));
}

function envCases(): CaseSpec[] {
  return EnvCases.flatMap((item) => [
    ...item.commands.map((args): CaseSpec => ({ family: "env", args, env: item.env, home: item.home ?? "plain", mustFail: true })),
    ...(item.mayPass ?? []).map((args): CaseSpec => ({ family: "env", args, env: item.env, home: item.home ?? "plain", mustFail: false })),
  ]);
}

/** The case as a shell command line, long arguments shortened, control bytes escaped. */
export function commandLine(fuzzCase: FuzzCase): string {
  const env = Object.entries(fuzzCase.env).map(([key, value]) => (value === null ? `-u ${key}` : `${key}=${quote(value)}`));
  const stdin = fuzzCase.stdin === "closed" ? "" : ` <${fuzzCase.stdin}`;
  const home = fuzzCase.home === "plain" ? "" : `[${fuzzCase.home} home] `;
  return `${home}${env.length > 0 ? `env ${env.join(" ")} ` : ""}den ${fuzzCase.args.map(quote).join(" ")}${stdin}`;
}

function quote(arg: string): string {
  const shown = arg.length > 80 ? `${arg.slice(0, 40)}…(${arg.length} chars)…${arg.slice(-12)}` : arg;
  if (/^[A-Za-z0-9_.,:/=+@%{}-]+$/.test(shown)) return shown;
  return JSON.stringify(shown);
}
