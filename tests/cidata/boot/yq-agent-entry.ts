// `den-guestagent yq …` for boot.test.ts: runs agent/yq-command.ts from the source tree, as the compiled agent would.
import { runYqCommand } from "../../../agent/yq-command.ts";

const [command, ...args] = process.argv.slice(2);
if (command !== "yq") {
  process.stderr.write(`error: yq-agent-entry.ts runs only "yq", not "${command}"\n`);
  process.exit(2);
}
process.exit(await runYqCommand(args));
