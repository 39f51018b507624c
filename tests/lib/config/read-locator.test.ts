import { expect, test } from "bun:test";
import { parseLocator } from "../../../lib/config/locator.ts";
import { locatorReader, maxTemplateBytes, readLocator, type ReadLocatorContext, templateSearchPath } from "../../../lib/config/read-locator.ts";
import { rejectedDenError } from "../../support/caught-den-error.ts";
import { stalledAnswers } from "../../support/stalled-answers.ts";
import { templateContext } from "./support/template-context.ts";

const options = { cwd: "/cwd", home: "/home/u" };

function context(overrides: Partial<ReadLocatorContext> & { files?: Record<string, string> } = {}): ReadLocatorContext {
  return templateContext({
    builtinTemplates: new Map([
      ["docker", "builtin: docker\n"],
      ["_images/ubuntu-24.04", "builtin: ubuntu\n"],
    ]),
    readStdin: async () => "from: stdin\n",
    fetch: async () => new Response("from: web\n"),
    hostArch: "aarch64",
    ...overrides,
  });
}

interface ReadRow {
  name: string;
  text: string;
  ctx: ReadLocatorContext;
  want: { text: string; resolvedLocator: string };
}

const readRows: ReadRow[] = [
  {
    name: "stdin",
    text: "-",
    ctx: context(),
    want: { text: "from: stdin\n", resolvedLocator: "-" },
  },
  {
    name: "a built-in template",
    text: "template:docker",
    ctx: context(),
    want: { text: "builtin: docker\n", resolvedLocator: "template:docker" },
  },
  {
    name: "a built-in template with a version in its name",
    text: "template:_images/ubuntu-24.04",
    ctx: context(),
    want: { text: "builtin: ubuntu\n", resolvedLocator: "template:_images/ubuntu-24.04" },
  },
  {
    name: "a user template in DEN_HOME/_templates before the built-in one",
    text: "template:docker",
    ctx: context({ files: { "/home/u/.den/_templates/docker.yaml": "user: docker\n" } }),
    want: { text: "user: docker\n", resolvedLocator: "template:docker" },
  },
  {
    name: "a template from the second DEN_TEMPLATES_PATH folder",
    text: "template:mine",
    ctx: context({
      env: { DEN_TEMPLATES_PATH: "/a:/b" },
      files: { "/b/mine.yaml": "from: b\n", "/home/u/.den/_templates/mine.yaml": "ignored: true\n" },
    }),
    want: { text: "from: b\n", resolvedLocator: "template:mine" },
  },
  {
    name: "a local file",
    text: "t.yaml",
    ctx: context({ files: { "/cwd/t.yaml": "local: true\n" } }),
    want: { text: "local: true\n", resolvedLocator: "/cwd/t.yaml" },
  },
  {
    name: "an https URL",
    text: "https://example.com/t.yaml",
    ctx: context(),
    want: { text: "from: web\n", resolvedLocator: "https://example.com/t.yaml" },
  },
  {
    name: "an image URL with its arch in the name",
    text: "https://x.test/debian-12-genericcloud-amd64.qcow2",
    ctx: context(),
    want: {
      text: 'arch: "x86_64"\nimages:\n- location: "https://x.test/debian-12-genericcloud-amd64.qcow2"\n  arch: "x86_64"\n',
      resolvedLocator: "https://x.test/debian-12-genericcloud-amd64.qcow2",
    },
  },
];

test.each(readRows)("readLocator() reads $name", async ({ text, ctx, want }) => {
  const result = await readLocator(parseLocator(text, options), ctx);
  expect({ text: result.text, resolvedLocator: result.resolvedLocator }).toEqual(want);
});

test("readLocator() warns about template:// and about an image of unknown arch", async () => {
  const deprecated = await readLocator(parseLocator("template://docker", options), context());
  expect(deprecated.warnings).toEqual([
    'Template locator "template://docker" uses the deprecated template:// form; write "template:docker"',
  ]);
  const image = await readLocator(parseLocator("https://x.test/disk.img", options), context());
  expect(image.text).toContain('arch: "aarch64"');
  expect(image.warnings).toEqual(['Cannot tell the architecture of image "https://x.test/disk.img" from its name; assuming "aarch64"']);
});

test("readLocator() reports a missing template with a hint to list templates", async () => {
  const error = await rejectedDenError(readLocator(parseLocator("template:nope", options), context()));
  expect(error.code).toBe("TEMPLATE_NOT_FOUND");
  expect(error.message).toBe('Cannot find template "nope"');
  expect(error.hint).toBe('run "den template list" to see the available templates');
});

test.each([
  { code: "ELOOP", message: "too many levels of symbolic links (ELOOP)", hint: "points back to itself" },
  { code: "EIO", message: "an input/output error happened (EIO)", hint: 'check the disk that holds "/t/x.yaml"' },
  { code: "ENAMETOOLONG", message: "the path is too long (ENAMETOOLONG)", hint: "use a shorter path" },
])("readLocator() explains a $code read error with a hint", async ({ code, message, hint }) => {
  const readFile = async () => {
    throw Object.assign(new Error(`${code}: it failed, read`), { code, syscall: "read" });
  };
  const error = await rejectedDenError(readLocator(parseLocator("/t/x.yaml", options), context({ readFile })));
  expect(error.code).toBe("IO");
  expect(error.message).toBe(`Cannot read template "/t/x.yaml": ${message}`);
  expect(error.hint).toContain(hint);
});

test("readLocator() quotes a 10,000-character template name as a short excerpt", async () => {
  const readFile = async (path: string) => {
    throw Object.assign(new Error(`ENAMETOOLONG: name too long, open '${path}'`), { code: "ENAMETOOLONG", path });
  };
  const error = await rejectedDenError(readLocator(parseLocator(`template:${"x".repeat(10_000)}`, options), context({ readFile })));
  expect(error.message.length).toBeLessThan(300);
  expect(error.hint).toBe("use a shorter path");
});

test("readLocator() reports a missing local file as TEMPLATE_NOT_FOUND", async () => {
  const error = await rejectedDenError(readLocator(parseLocator("/nope.yaml", options), context()));
  expect(error.code).toBe("TEMPLATE_NOT_FOUND");
});

interface LimitRow {
  name: string;
  response: () => Response;
}

const limitRows: LimitRow[] = [
  {
    name: "a declared length over 4 MiB",
    response: () => new Response("x", { headers: { "content-length": String(maxTemplateBytes + 1) } }),
  },
  {
    name: "a streamed body over 4 MiB",
    response: () =>
      new Response(
        new ReadableStream({
          start(controller) {
            for (let i = 0; i < 5; i++) controller.enqueue(new Uint8Array(1024 * 1024));
            controller.close();
          },
        }),
      ),
  },
];

test.each(limitRows)("readLocator() refuses $name", async ({ response }) => {
  const error = await rejectedDenError(readLocator(parseLocator("https://x.test/t.yaml", options), context({ fetch: async () => response() })));
  expect(error.code).toBe("TEMPLATE_TOO_LARGE");
});

test("readLocator() refuses a local file over 4 MiB", async () => {
  const ctx = context({ files: { "/big.yaml": "x".repeat(maxTemplateBytes + 1) } });
  const error = await rejectedDenError(readLocator(parseLocator("/big.yaml", options), ctx));
  expect(error.code).toBe("TEMPLATE_TOO_LARGE");
});

test.each([
  { name: "an HTTP error status", fetch: async () => new Response("gone", { status: 404 }) },
  { name: "a network failure", fetch: async (): Promise<Response> => Promise.reject(new Error("connection refused")) },
])("readLocator() reports $name as FETCH_FAILED", async ({ fetch }) => {
  const error = await rejectedDenError(readLocator(parseLocator("https://x.test/t.yaml", options), context({ fetch })));
  expect(error.code).toBe("FETCH_FAILED");
});

test.each(stalledAnswers)("readLocator() gives up on a server that $name after fetchTimeoutMs", async ({ answer }) => {
  const started = performance.now();
  const error = await rejectedDenError(readLocator(parseLocator("https://x.test/t.yaml", options), context({ fetch: answer, fetchTimeoutMs: 50 })));
  expect(performance.now() - started).toBeLessThan(1000);
  expect(error.code).toBe("FETCH_FAILED");
  expect(error.message).toBe('Cannot fetch template "https://x.test/t.yaml": no complete answer within 50 ms');
});

test("readLocator() aborts the request it gave up on", async () => {
  let signal: AbortSignal | undefined;
  const fetch: ReadLocatorContext["fetch"] = (_url, init) => {
    signal = init.signal;
    return new Promise<Response>(() => {});
  };
  await rejectedDenError(readLocator(parseLocator("https://x.test/t.yaml", options), context({ fetch, fetchTimeoutMs: 10 })));
  expect(signal?.aborted).toBe(true);
});

test("templateSearchPath() prefers DEN_TEMPLATES_PATH over DEN_HOME/_templates", () => {
  expect(templateSearchPath({ env: {}, denHome: "/h" })).toEqual(["/h/_templates"]);
  expect(templateSearchPath({ env: { DEN_TEMPLATES_PATH: "/a::/b" }, denHome: "/h" })).toEqual(["/a", "/b"]);
});

test("locatorReader() reads a locator string", async () => {
  const read = locatorReader(context(), options);
  expect(await read("template:_images/ubuntu-24.04")).toBe("builtin: ubuntu\n");
});
