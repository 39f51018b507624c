// `den shell --preserve-env`: which of the host's environment variables go to the guest command, by Lima's rules
// (pkg/envutil): everything except a block list of variables that describe the host itself (HOME, PATH, SSH_*, …);
// DEN_SHELLENV_BLOCK replaces the block list (a leading "+" adds to it) and DEN_SHELLENV_ALLOW, when set, passes
// only the variables it names. Patterns are names or prefixes ending in "*", separated by commas. Pure.

/** Lima's default block list. */
export const DefaultShellEnvBlock: readonly string[] = [
  "BASH*",
  "DISPLAY",
  "DYLD_*",
  "EUID",
  "FPATH",
  "GID",
  "GROUP",
  "HOME",
  "HOSTNAME",
  "LD_*",
  "LOGNAME",
  "OLDPWD",
  "PATH",
  "PWD",
  "SHELL",
  "SHLVL",
  "SSH_*",
  "TERM",
  "TERMINFO",
  "TMPDIR",
  "UID",
  "USER",
  "XAUTHORITY",
  "XDG_*",
  "ZDOTDIR",
  "ZSH*",
  "_*",
];

/** The variables that configure the lists (Lima's LIMA_SHELLENV_BLOCK / LIMA_SHELLENV_ALLOW). */
export const ShellEnvBlockVariable = "DEN_SHELLENV_BLOCK";
export const ShellEnvAllowVariable = "DEN_SHELLENV_ALLOW";

/** The block list in effect for `env`. */
export function shellEnvBlockList(env: Readonly<Record<string, string | undefined>>): string[] {
  const configured = env[ShellEnvBlockVariable] ?? "";
  if (configured === "") return [...DefaultShellEnvBlock];
  return configured.startsWith("+") ? [...DefaultShellEnvBlock, ...patternList(configured.slice(1))] : patternList(configured);
}

/**
 * The variables of `env` to pass, in the order given. A name the guest's shell could not take as a variable
 * (`BASH_FUNC_f%%`, `a.b`) is left out whatever the lists say.
 */
export function preservedEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const allow = patternList(env[ShellEnvAllowVariable] ?? "");
  const block = shellEnvBlockList(env);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
    const passes = allow.length > 0 ? matchesAny(name, allow) : !matchesAny(name, block);
    if (passes) out[name] = value;
  }
  return out;
}

function patternList(text: string): string[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

function matchesAny(name: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => pattern === name || (pattern.endsWith("*") && name.startsWith(pattern.slice(0, -1))));
}
