// The flow-control numbers of a session, which depend on the protocol version it agreed on. Version 1 has fixed
// 256 KiB windows and 32 KiB DATA frames. Under TCG a 256 KiB window is ~10 ms of data at the channel's speed, less
// than a credit's round trip through the guest, so the sender idled waiting for credit; version 2 lets each side
// announce its receive window (4 MiB by default) and cuts byte streams into the largest frames the format allows, so
// the receiving agent makes half as many socket writes.
import { MaxPayloadBytes } from "./frame.ts";

export interface StreamLimits {
  /** Bytes this side may send on a new stream before the peer's first CREDIT: the peer's receive window. */
  sendWindow: number;
  /** Bytes the peer may send on a new stream before this side's first CREDIT. */
  receiveWindow: number;
  /** Byte streams are cut into DATA frames of at most this size. */
  dataChunkBytes: number;
  /** Credit goes back in batches of at least this many bytes, so small reads do not cost a frame each. */
  creditBatchBytes: number;
}

/** Version 1's window, both ways. */
export const V1WindowBytes = 256 * 1024;
/** What a version 2 side announces unless told otherwise: 4 MiB keeps a TCG guest's channel busy across a credit round trip. */
export const DefaultReceiveWindowBytes = 4 * 1024 * 1024;
/** This side never keeps more than this unacknowledged on one stream, whatever window the peer announces. */
export const MaxSendWindowBytes = 16 * 1024 * 1024;

export const V1Limits: StreamLimits = { sendWindow: V1WindowBytes, receiveWindow: V1WindowBytes, dataChunkBytes: 32 * 1024, creditBatchBytes: V1WindowBytes / 4 };

export interface Windows {
  /** The window this side announced (version 2 and later): what it is ready to buffer per stream. */
  receive: number;
  /** The window the peer announced; absent when it announced none. */
  send?: number | undefined;
}

/** The limits of a session that agreed on `protocol`; version 1 ignores the announced windows. */
export function streamLimits(protocol: number, windows: Windows): StreamLimits {
  if (protocol < 2) return V1Limits;
  return {
    // A peer that announced nothing gets version 1's window, the one every peer takes. A small announced window is
    // obeyed as it is (sending past it is a violation); a huge one is capped, which only means sending less.
    sendWindow: Math.min(windows.send ?? V1WindowBytes, MaxSendWindowBytes),
    receiveWindow: windows.receive,
    dataChunkBytes: MaxPayloadBytes,
    creditBatchBytes: Math.max(1, Math.floor(windows.receive / 4)),
  };
}
