import { expect, test } from "bun:test";
import { DenError } from "../../../lib/errors.ts";
import { githubRawUrl, githubSymlinkTarget, parseGithubLocator, resolveGithubLocator } from "../../../lib/config/github-locator.ts";
import { caughtDenError, rejectedError } from "../../support/caught-den-error.ts";

// Lima's cases (pkg/limatmpl github tests and docs/templates/github), with the branch given so no network is needed.
test.each([
  { rest: "lima-vm@master", want: "https://raw.githubusercontent.com/lima-vm/lima-vm/master/.lima.yaml" },
  { rest: "lima-vm//templates/docker@master", want: "https://raw.githubusercontent.com/lima-vm/lima-vm/master/templates/docker.yaml" },
  { rest: "lima-vm/lima@master", want: "https://raw.githubusercontent.com/lima-vm/lima/master/.lima.yaml" },
  { rest: "lima-vm/lima/@master", want: "https://raw.githubusercontent.com/lima-vm/lima/master/.lima.yaml" },
  { rest: "lima-vm/lima/.lima@master", want: "https://raw.githubusercontent.com/lima-vm/lima/master/.lima.yaml" },
  { rest: "lima-vm/lima/templates/docker@master", want: "https://raw.githubusercontent.com/lima-vm/lima/master/templates/docker.yaml" },
  { rest: "lima-vm/lima/templates/docker.yaml@master", want: "https://raw.githubusercontent.com/lima-vm/lima/master/templates/docker.yaml" },
  { rest: "lima-vm/lima/templates/@main", want: "https://raw.githubusercontent.com/lima-vm/lima/main/templates/.lima.yaml" },
  { rest: "lima-vm/lima@v1.0.0", want: "https://raw.githubusercontent.com/lima-vm/lima/v1.0.0/.lima.yaml" },
  { rest: "lima-vm/lima/templates/alpine@v2.0.0", want: "https://raw.githubusercontent.com/lima-vm/lima/v2.0.0/templates/alpine.yaml" },
  { rest: "lima-vm/lima/templates/ubuntu-24.04@master", want: "https://raw.githubusercontent.com/lima-vm/lima/master/templates/ubuntu-24.04" },
  { rest: "lima-vm/lima/docs/../README.md@main", want: "https://raw.githubusercontent.com/lima-vm/lima/main/README.md" },
  { rest: "org/repo/a b@feature/x", want: "https://raw.githubusercontent.com/org/repo/feature/x/a%20b.yaml" },
])("github:$rest is $want", ({ rest, want }) => {
  const locator = parseGithubLocator(rest);
  expect(githubRawUrl({ ...locator, branch: locator.branch! })).toBe(want);
});

test.each([
  { rest: "", reason: "names no ORG" },
  { rest: "@main", reason: "names no ORG" },
  { rest: "lima-vm/../../torvalds/linux/master/evil.yaml", reason: 'is not a GitHub repository name' },
  { rest: "lima-vm/lima/../../../torvalds/linux/master/evil.yaml@main", reason: "its path leaves the repository" },
  { rest: "lima-vm/lima/README.md@../../torvalds/linux/master", reason: "is not a branch, tag or commit" },
  { rest: "lima-vm/lima@", reason: "is not a branch, tag or commit" },
  { rest: "li?ma/lima", reason: "is not a GitHub organisation name" },
])("github:$rest is refused: $reason", ({ rest, reason }) => {
  const error = caughtDenError(() => parseGithubLocator(rest));
  expect(error.code).toBe("LOCATOR_INVALID");
  expect(error.message).toContain(reason);
});

test.each([
  { content: "", want: undefined },
  { content: "templates/docker.yaml", want: "templates/docker.yaml" },
  { content: "{arch: x86_64}", want: undefined },
  { content: "arch: x86_64", want: undefined },
  { content: "a\nb", want: undefined },
])("githubSymlinkTarget() of $content is $want", ({ content, want }) => {
  expect(githubSymlinkTarget(content)).toBe(want);
});

/** A fake GitHub: URL → [status, body]; records each request with its headers. */
function fakeGithub(routes: Record<string, [number, string]>) {
  const requests: { url: string; headers: Record<string, string> }[] = [];
  return {
    requests,
    ctx: {
      token: "tok",
      fetch: async (url: string, init: { headers: Record<string, string> }) => {
        requests.push({ url, headers: init.headers });
        const [status, body] = routes[url] ?? [404, "404: Not Found"];
        return new Response(body, { status });
      },
    },
  };
}

const api = "https://api.github.com/repos";
const raw = "https://raw.githubusercontent.com";

interface GithubCase {
  name: string;
  rest: string;
  routes: Record<string, [number, string]>;
  want?: string;
  message?: string;
}

test.each<GithubCase>([
  {
    name: "asks the API for the default branch, with the token",
    rest: "lima-vm/lima/templates/docker",
    routes: { [`${api}/lima-vm/lima`]: [200, '{"default_branch":"master"}'] },
    want: `${raw}/lima-vm/lima/master/templates/docker.yaml`,
  },
  {
    name: "follows a .lima.yaml symbolic link inside the repository",
    rest: "jandubois//docs/@main",
    routes: { [`${raw}/jandubois/jandubois/main/docs/.lima.yaml`]: [200, "../templates/demo.yaml"] },
    want: `${raw}/jandubois/jandubois/main/templates/demo.yaml`,
  },
  {
    name: "keeps a .lima.yaml that is a template",
    rest: "org/repo@main",
    routes: { [`${raw}/org/repo/main/.lima.yaml`]: [200, "images: []\n"] },
    want: `${raw}/org/repo/main/.lima.yaml`,
  },
  {
    name: "returns an organisation repository's redirect with the tag passed on",
    rest: "jandubois@v1",
    routes: { [`${raw}/jandubois/jandubois/v1/.lima.yaml`]: [200, "github:jandubois/lima/templates/x\n"] },
    want: "github:jandubois/lima/templates/x@v1",
  },
  {
    name: "reads the redirect from the default branch when the tag is not in the organisation repository",
    rest: "jandubois@v9",
    routes: {
      [`${api}/jandubois/jandubois`]: [200, '{"default_branch":"main"}'],
      [`${raw}/jandubois/jandubois/main/.lima.yaml`]: [200, "github:jandubois/lima/templates/x"],
    },
    want: "github:jandubois/lima/templates/x@v9",
  },
])("resolveGithubLocator() $name", async ({ rest, routes, want }) => {
  const github = fakeGithub(routes);
  expect(await resolveGithubLocator(rest, github.ctx)).toBe(want!);
  const apiCall = github.requests.find((request) => request.url.startsWith(api));
  if (apiCall) expect(apiCall.headers.Authorization).toBe("token tok");
});

test.each<GithubCase>([
  {
    name: "a redirect to another organisation",
    rest: "jandubois@main",
    routes: { [`${raw}/jandubois/jandubois/main/.lima.yaml`]: [200, "github:lima-vm/lima"] },
    message: 'does not stay in "github:jandubois"',
  },
  {
    name: "a redirect with its own branch",
    rest: "jandubois@main",
    routes: { [`${raw}/jandubois/jandubois/main/.lima.yaml`]: [200, "github:jandubois/x@v0"] },
    message: "names a branch",
  },
  {
    name: "a symbolic link out of the repository",
    rest: "org/repo@main",
    routes: { [`${raw}/org/repo/main/.lima.yaml`]: [200, "../../other/repo/main/x.yaml"] },
    message: "leaves the repository",
  },
  { name: "a repository GitHub does not know", rest: "org/none", routes: {}, message: 'Cannot find the default branch of "org/none": GitHub answered HTTP 404' },
])("resolveGithubLocator() refuses $name", async ({ rest, routes, message }) => {
  const error = await rejectedError(resolveGithubLocator(rest, fakeGithub(routes).ctx), DenError);
  expect(error.message).toContain(message!);
  expect(error.hint).toBeDefined();
});
