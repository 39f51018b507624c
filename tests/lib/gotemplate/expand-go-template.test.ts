import { expect, test } from "bun:test";
import { expandGoTemplate } from "../../../lib/gotemplate/expand-go-template.ts";
import { data, render, renderFailure } from "./support/template-data.ts";

// Templates as Lima's own templates, docs and tests write them.
test.each([
  { name: "a docker socket path for --format", text: "unix://{{.Dir}}/sock/docker.sock", want: "unix:///Users/alice/.lima/default/sock/docker.sock" },
  { name: "a --format row", text: "{{.Name}} {{.Status}} 127.0.0.1:{{.SSHLocalPort}}", want: "default Running 127.0.0.1:60022" },
  { name: "a mount location", text: "{{.Home}}/projects", want: "/home/alice/projects" },
  { name: "a parameter guard in a provision script", text: '#!/bin/sh\n{{- if eq .Param.DOCKER "yes" }}\necho docker\n{{- end }}\n', want: "#!/bin/sh\necho docker\n" },
  {
    name: "a message block",
    text: 'Run:\n------\ndocker context create lima-{{.Name}} --docker "host=unix://{{.Dir}}/sock/docker.sock"\ndocker context use lima-{{.Name}}\n------\n',
    want: 'Run:\n------\ndocker context create lima-default --docker "host=unix:///Users/alice/.lima/default/sock/docker.sock"\ndocker context use lima-default\n------\n',
  },
  { name: "a list of mounts", text: "{{range $i, $m := .Config.Mounts}}{{$i}}: {{$m.Location}}{{if $m.Writable}} (writable){{end}}\n{{end}}", want: "0: /home/alice\n" },
])("expandGoTemplate() expands $name", ({ text, want }) => {
  expect(render(text)).toBe(want);
});

test("expandGoTemplate() fails on a missing key by default and renders it in the other modes", () => {
  expect(renderFailure("{{.Nope}}").message).toContain('map has no entry for key "Nope"');
  expect(render("{{.Nope}}", { missingKey: "default" })).toBe("<no value>");
  expect(render("{{.Nope}}", { missingKey: "zero" })).toBe("");
});

test("expandGoTemplate() names the line, the field and the offending line of a multi-line template", () => {
  const text = "#!/bin/sh\necho {{.Home}}\necho {{ .Param.NOPE }}\n";
  const failure = renderFailure(text, { name: "provision[0].script" });
  expect(failure.message).toBe('Cannot expand template in provision[0].script "echo {{ .Param.NOPE }}" at line 3, column 9: map has no entry for key "NOPE"');
  expect(failure.details).toMatchObject({ template: text, line: 3, column: 9, key: "NOPE", path: ".Param.NOPE", availableKeys: ["DOCKER", "EMPTY"] });
});

test("expandGoTemplate() shortens a long template in the message", () => {
  const text = `${"x".repeat(90)}{{.Nope}}`;
  expect(renderFailure(text).message).toBe(`Cannot expand template "${"x".repeat(77)}..." at column 93: map has no entry for key "Nope"`);
});

test("expandGoTemplate() points at the template syntax when the failure has no hint of its own", () => {
  expect(renderFailure("{{ | .Name }}").hint).toBe("each `|` must be followed by a function or a value");
  expect(renderFailure("{{end}}").hint).toBe("see https://pkg.go.dev/text/template for the template syntax");
});

test("expandGoTemplate() lets errors that are not template failures through", () => {
  const throwing = {
    get Boom(): string {
      throw new RangeError("getter failed");
    },
  };
  expect(() => expandGoTemplate("{{.Boom}}", throwing)).toThrow(RangeError);
});

test("expandGoTemplate() returns the same text for the same data", () => {
  const text = "{{range $k, $v := .Map}}{{$k}}={{$v}} {{end}}{{json .Rows}}";
  expect(render(text)).toBe(expandGoTemplate(text, structuredClone(data)));
});
