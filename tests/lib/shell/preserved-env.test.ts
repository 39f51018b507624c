import { expect, test } from "bun:test";
import { DefaultShellEnvBlock, preservedEnv, shellEnvBlockList } from "../../../lib/shell/preserved-env.ts";

test.each<{ name: string; env: Record<string, string>; want: Record<string, string> }>([
  { name: "passes ordinary variables and blocks the host's own", env: { FOO: "1", HOME: "/h", PATH: "/bin", SSH_AUTH_SOCK: "/s", XDG_RUNTIME_DIR: "/r", _: "/x", LANG: "C" }, want: { FOO: "1", LANG: "C" } },
  { name: "DEN_SHELLENV_BLOCK replaces the list", env: { FOO: "1", HOME: "/h", DEN_SHELLENV_BLOCK: "FOO,DEN_*" }, want: { HOME: "/h" } },
  { name: "DEN_SHELLENV_BLOCK with + adds to the list", env: { FOO: "1", BAR: "2", HOME: "/h", DEN_SHELLENV_BLOCK: "+FOO, DEN_*" }, want: { BAR: "2" } },
  { name: "DEN_SHELLENV_ALLOW passes only what it names", env: { FOO: "1", FOX: "2", BAR: "3", HOME: "/h", DEN_SHELLENV_ALLOW: "FO*,HOME" }, want: { FOO: "1", FOX: "2", HOME: "/h" } },
  { name: "leaves out names a shell cannot take", env: { "BASH_FUNC_f%%": "() { :; }", "a.b": "1", OK_1: "x" }, want: { OK_1: "x" } },
])("preservedEnv() $name", ({ env, want }) => {
  expect(preservedEnv(env)).toEqual(want);
});

test.each<{ env: Record<string, string>; want: string[] }>([
  { env: {}, want: [...DefaultShellEnvBlock] },
  { env: { DEN_SHELLENV_BLOCK: "A, B*" }, want: ["A", "B*"] },
  { env: { DEN_SHELLENV_BLOCK: "+A" }, want: [...DefaultShellEnvBlock, "A"] },
])("shellEnvBlockList() reads $env", ({ env, want }) => {
  expect(shellEnvBlockList(env)).toEqual(want);
});
