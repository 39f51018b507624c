// What the downloader tells its caller while it works; a progress reporter turns these into output.

export type DownloadEvent =
  /** A transfer begins; `offset` bytes are already there when it resumes. */
  | { kind: "start"; label: string; url: string; offset: number; totalBytes: number | undefined }
  /** `receivedBytes` of the file are on disk (including a resumed start). */
  | { kind: "data"; receivedBytes: number; totalBytes: number | undefined }
  | { kind: "done"; receivedBytes: number }
  | { kind: "cached"; label: string; url: string }
  /** Another process holds the entry's lock; this one waits and then uses its result. */
  | { kind: "waiting"; label: string }
  | { kind: "retry"; label: string; attempt: number; reason: string; delayMs: number }
  | { kind: "warning"; message: string };

export type DownloadListener = (event: DownloadEvent) => void;
