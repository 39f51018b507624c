import { describe, expect, test } from "bun:test";
import { Command } from "@commander-js/extra-typings";
import { completionEntries, renderCompletion } from "../../../lib/cli/completion-script.ts";
import { buildProgram } from "../../../lib/cli/program.ts";

function sampleProgram() {
  const program = new Command("den").option("--debug");
  program.command("list").alias("ls").summary("list instances").option("-q, --quiet");
  const template = program.command("template").summary("templates");
  template.command("show").summary("show one");
  return program;
}

test("completionEntries() walks commands and aliases", () => {
  const paths = completionEntries(sampleProgram()).map((entry) => entry.path.join(" "));
  expect(paths).toEqual(["list", "ls", "template", "template show"]);
});

describe("renderCompletion()", () => {
  test.each([
    { shell: "bash" as const, want: "complete -F _den_complete den" },
    { shell: "zsh" as const, want: "bashcompinit" },
    { shell: "fish" as const, want: "complete -c den -n '__fish_use_subcommand' -a list -d 'list instances'" },
  ])("renders a $shell script", ({ shell, want }) => {
    expect(renderCompletion(shell, sampleProgram())).toContain(want);
  });

  test("the bash script completes subcommands and instance names in real bash", () => {
    const script = renderCompletion("bash", sampleProgram());
    const run = (words: string) =>
      Bun.spawnSync(["bash", "-c", `den() { :; }; list_q() { :; }; ${script}\nCOMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _den_complete; echo "\${COMPREPLY[*]}"`], { stdout: "pipe" }).stdout.toString().trim();
    expect(run("den te")).toBe("template");
    expect(run("den template s")).toBe("show");
    expect(run("den ls -")).toBe("--quiet -q");
  });
});

describe("the instance-taking commands of den's own program", () => {
  const entries = completionEntries(buildProgram() as never);
  const takes = new Set(entries.filter((entry) => entry.takesInstance).map((entry) => entry.path.join(" ")));
  const offered = new Set(entries.map((entry) => entry.path.join(" ")));

  test.each(["start", "stop", "restart", "shell", "delete", "rm", "list", "ls", "protect", "unprotect", "pause", "resume", "ports"])(
    "%s completes instance names",
    (path) => {
      expect(takes.has(path)).toBe(true);
    },
  );

  test.each(["create", "validate", "template", "info", "completion", "prune"])("%s does not complete instance names", (path) => {
    expect(takes.has(path)).toBe(false);
  });

  test.each(["nerdctl", "docker", "podman", "kubectl"])("%s is offered with its --instance flag", (path) => {
    expect(entries.find((entry) => entry.path.join(" ") === path)?.flags).toEqual(["--instance"]);
  });

  test.each(["create", "start", "template show", "template url"])("%s completes template:NAME", (path) => {
    expect(entries.find((entry) => entry.path.join(" ") === path)?.takesTemplate).toBe(true);
  });

  test.each(["stop", "list", "shell", "copy"])("%s does not complete template names", (path) => {
    expect(entries.find((entry) => entry.path.join(" ") === path)?.takesTemplate).toBe(false);
  });

  test.each(["show-ssh", "tunnel", "start-at-login"])("%s completes instance names", (path) => {
    expect(takes.has(path)).toBe(true);
  });

  test("the bash script completes template:NAME in real bash, also after the colon bash splits at", () => {
    const script = renderCompletion("bash", buildProgram() as never);
    const den = `den() { [ "$1 $2 $3" = "template list -q" ] && printf 'docker\\ndefault\\n'; [ "$1 $2" = "list -q" ] && printf 'vm\\n'; }`;
    const run = (words: string) =>
      Bun.spawnSync(["bash", "-c", `${den}; ${script}\nCOMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _den_complete; echo "\${COMPREPLY[*]}"`], { stdout: "pipe" }).stdout.toString().trim();
    expect(run("den create template:do")).toBe("template:docker");
    expect(run("den create template : de")).toBe("default");
    expect(run("den create template :")).toBe("docker default");
    expect(run("den start ''")).toContain("vm");
    expect(run("den start ''")).toContain("template:default");
  });

  test("the fish script completes template:NAME for den create", () => {
    expect(renderCompletion("fish", buildProgram() as never)).toContain(`complete -c den -n '__fish_seen_subcommand_from create' -a '(den template list -q 2>/dev/null | string replace -r "^" "template:")'`);
  });

  test("the bash script completes instance names after --instance in real bash", () => {
    const script = renderCompletion("bash", buildProgram() as never);
    const run = (words: string) =>
      Bun.spawnSync(["bash", "-c", `den() { [ "$1 $2" = "list -q" ] && printf 'vm\\nk3s\\n'; }; ${script}\nCOMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _den_complete; echo "\${COMPREPLY[*]}"`], { stdout: "pipe" }).stdout.toString().trim();
    expect(run("den docker --instance ''")).toBe("vm k3s");
    expect(run("den kubectl --instance k")).toBe("k3s");
    expect(run("den dock")).toBe("docker");
  });

  test("the fish script completes instance names after --instance", () => {
    expect(renderCompletion("fish", buildProgram() as never)).toContain("complete -c den -n '__fish_seen_subcommand_from podman' -l instance -r -a '(den list -q 2>/dev/null)'");
  });

  test("only real commands are offered: no hidden host agent and nothing that does not exist", () => {
    const top = entries.filter((entry) => entry.path.length === 1).map((entry) => entry.path[0]);
    const real = new Set(buildProgram().commands.flatMap((c) => [c.name(), ...c.aliases()]));
    expect(top.filter((name) => !real.has(name!))).toEqual([]);
    expect(offered.has("hostagent")).toBe(false);
  });
});
