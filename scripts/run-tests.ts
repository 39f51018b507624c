// Runs `bun test` and ends with the line CI reads: `N passed, N failed`.
export {};
// bun prints its own summary on stderr; we pass everything through and count from it.
// Usage: bun scripts/run-tests.ts [bun test args…]   (DEN_E2E=0 skips nothing: e2e tests decide on their own)

const args = Bun.argv.slice(2);
const child = Bun.spawn([process.execPath, "test", ...args], { stdout: "inherit", stderr: "pipe", env: process.env });

let passed = 0;
let failed = 0;
let pending = "";
// CI shows only the end of the output, and bun prints why a test failed above its "(fail)" line, far from the end:
// the lines since the previous test result are kept and printed again, with the failure, just before the summary.
const sinceLastResult: string[] = [];
const failures: string[] = [];
const maxLinesPerFailure = 60;
const maxFailuresShown = 10;
let inFinalSummary = false;
const decoder = new TextDecoder();
for await (const chunk of child.stderr) {
  const text = decoder.decode(chunk, { stream: true });
  process.stderr.write(text);
  pending += text;
  const lines = pending.split("\n");
  pending = lines.pop() ?? "";
  for (const line of lines) count(line);
}
count(pending);
const exitCode = await child.exited;

function count(line: string): void {
  // bun's own summary lists the failed tests again, without their reasons.
  if (/^\d+ tests? failed:$/.test(line)) inFinalSummary = true;
  if (!inFinalSummary) keepForFailureReport(line);
  const pass = /^\s*(\d+) pass$/.exec(line);
  if (pass) passed += Number(pass[1]);
  const fail = /^\s*(\d+) fail$/.exec(line);
  if (fail) failed += Number(fail[1]);
}

function keepForFailureReport(line: string): void {
  if (/^\((pass|skip|todo)\) /.test(line)) sinceLastResult.length = 0;
  else if (/^\(fail\) /.test(line)) {
    if (failures.length < maxFailuresShown) failures.push([...sinceLastResult.slice(-maxLinesPerFailure), line].join("\n"));
    sinceLastResult.length = 0;
  } else {
    sinceLastResult.push(line);
    if (sinceLastResult.length > 2 * maxLinesPerFailure) sinceLastResult.splice(0, maxLinesPerFailure);
  }
}

// A crash before the summary (or a non-zero exit with no failures counted) is still a failure.
if (exitCode !== 0 && failed === 0) failed = 1;
if (failures.length > 0) process.stderr.write(`\nfailed tests with their reasons (at most ${maxFailuresShown}):\n${failures.join("\n\n")}\n`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(exitCode === 0 && failed === 0 ? 0 : 1);
