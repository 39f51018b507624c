import { expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const writeStdoutTs = join(import.meta.dir, "../../../lib/cli/write-stdout.ts");

/** A script that writes `bytes` bytes of "x" with writeStdout(). */
async function writerScript(bytes: number): Promise<{ script: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "den-write-stdout-"));
  const script = join(dir, "write.ts");
  await writeFile(script, `import { writeStdout } from ${JSON.stringify(writeStdoutTs)};\nwriteStdout("x".repeat(${bytes}));\n`);
  return { script, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

test("writeStdout() writes everything into a non-blocking pipe whose reader is slow", async () => {
  const { script, cleanup } = await writerScript(4 << 20);
  try {
    // The pipe's write end is made non-blocking before den gets it, as a parent may leave it: a write then fails with
    // EAGAIN whenever the 64 KiB pipe buffer is full, and must be retried, not dropped or thrown.
    const reader = [
      "import fcntl, os, subprocess, sys, time",
      "r, w = os.pipe()",
      "fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)",
      "child = subprocess.Popen([sys.argv[1], sys.argv[2]], stdout=w)",
      "os.close(w)",
      "time.sleep(0.5)",
      "total = 0",
      "while True:",
      "    chunk = os.read(r, 1 << 16)",
      "    if not chunk: break",
      "    total += len(chunk)",
      "print(total, child.wait())",
    ].join("\n");
    const result = Bun.spawnSync(["python3", "-c", reader, process.execPath, script], { stdout: "pipe", stderr: "pipe", timeout: 60_000 });
    expect(result.stderr.toString()).toBe("");
    expect(result.stdout.toString().trim()).toBe(`${4 << 20} 0`);
  } finally {
    await cleanup();
  }
});

test("writeStdout() into a pipe whose reader went away ends den with status 0 and nothing on stderr", async () => {
  const { script, cleanup } = await writerScript(1 << 20);
  try {
    const result = Bun.spawnSync(["bash", "-c", '"$0" "$1" | true; echo "${PIPESTATUS[0]}"', process.execPath, script], { stdout: "pipe", stderr: "pipe", timeout: 60_000 });
    expect(result.stderr.toString()).toBe("");
    expect(result.stdout.toString().trim()).toBe("0");
  } finally {
    await cleanup();
  }
});
