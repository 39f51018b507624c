// A scripted VZ helper for the protocol tests: it answers the control protocol well, or breaks it in the one way the
// scenario in FAKE_VZ_SCENARIO names, and appends every request it reads to FAKE_VZ_LOG (one JSON line each).
//
//   bun fake-vz-helper.ts serve [-pidfile PATH]
import { appendFileSync } from "node:fs";

const scenario = process.env.FAKE_VZ_SCENARIO ?? "ok";
const logPath = process.env.FAKE_VZ_LOG;
let state = "stopped";
let out = Promise.resolve();

function write(text: string): Promise<void> {
  out = out.then(
    () =>
      new Promise<void>((resolve) => {
        if (process.stdout.write(text)) resolve();
        else process.stdout.once("drain", () => resolve());
      }),
  );
  return out;
}
const send = (message: unknown) => write(`${JSON.stringify(message)}\n`);
const setState = (next: string) => {
  state = next;
  return send({ event: "state", state: next });
};
async function exit(code: number, why?: string): Promise<never> {
  if (why) process.stderr.write(`${why}\n`);
  await out;
  process.exit(code);
}

async function handle(request: { id: number; method: string; params: Record<string, unknown> }): Promise<void> {
  if (logPath) appendFileSync(logPath, `${JSON.stringify(request)}\n`);
  const { id, method } = request;
  const answer = (result: unknown) => send({ id, result });
  const refuse = (code: string, message: string) => send({ id, error: { code, message } });
  switch (method) {
    case "hello":
      if (scenario === "unsupported-protocol") return refuse("UNSUPPORTED_PROTOCOL", "this helper speaks protocol 2");
      if (scenario === "silent") return;
      if (scenario === "garbage") return void write("this is not json\n");
      if (scenario === "long-line") return void write(`{"id":${id},"result":{"pad":"${"x".repeat(1024 * 1024)}"}}\n`);
      if (scenario === "bad-result") return answer({ protocolVersion: 1 });
      await answer({ protocolVersion: 1, helperVersion: "9.9.9-fake", macosVersion: "15.1", capabilities: { rosetta: "installed", nestedVirtualization: true } });
      if (scenario === "unknown-id") await send({ id: id + 1000, result: {} });
      return;
    case "create":
      if (scenario === "die-on-create") return exit(1, "fatal: cannot build the machine: boom");
      if (scenario === "invalid-config") return refuse("INVALID_CONFIG", 'disk "/nope" does not exist');
      return answer({});
    case "start":
      await setState("starting");
      if (scenario === "bad-state-event") await write(`{"event":"state","state":"sleeping"}\n`);
      await setState("running");
      await answer({});
      if (scenario === "dies-after-start") {
        await Bun.sleep(50);
        await send({ event: "error", code: "VZ_ERROR", message: "the guest kernel panicked" });
        await setState("error");
        return exit(1, "fatal: the VM stopped with an error");
      }
      if (scenario === "garbage-after-start") return void write("\u0000\u0001 not a message\n");
      if (scenario === "powers-off" || scenario === "powers-off-and-waits") {
        await Bun.sleep(50);
        await setState("stopped");
        // "powers-off-and-waits" leaves the exit to the stdin EOF den sends once it saw the state.
        if (scenario === "powers-off") return exit(0);
      }
      return;
    case "pause":
      if (state !== "running") return refuse("BAD_STATE", `cannot pause a VM that is ${state}`);
      await setState("paused");
      return answer({});
    case "resume":
      if (state !== "paused") return refuse("BAD_STATE", `cannot resume a VM that is ${state}`);
      await setState("running");
      return answer({});
    case "state":
      return answer({ state });
    case "stop":
      await setState("stopping");
      await setState("stopped");
      await answer({ forced: scenario === "stop-forced" });
      return exit(0);
    default:
      return refuse("BAD_REQUEST", `unknown method "${method}"`);
  }
}

let pending = "";
const decoder = new TextDecoder();
for await (const chunk of Bun.stdin.stream()) {
  pending += decoder.decode(chunk as Uint8Array, { stream: true });
  for (let newline = pending.indexOf("\n"); newline >= 0; newline = pending.indexOf("\n")) {
    const line = pending.slice(0, newline);
    pending = pending.slice(newline + 1);
    void handle(JSON.parse(line));
  }
}
if (logPath) appendFileSync(logPath, `${JSON.stringify({ eof: true })}\n`);
await exit(0);
