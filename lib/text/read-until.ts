// Waiting for what a child process prints first (inotifywait's "Watches established", a boot stage), with a bound.

/**
 * The text `stream` gives until it holds `text`, or until the stream ends or `timeoutMs` passes; then it lacks `text`,
 * and the caller says what that means. The stream is released once `text` is seen, so the caller may read on.
 */
export async function readUntil(stream: ReadableStream<Uint8Array>, text: string, options: { timeoutMs: number }): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const timer = setTimeout(() => void reader.cancel(), options.timeoutMs);
  let seen = "";
  try {
    while (!seen.includes(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  return seen;
}
