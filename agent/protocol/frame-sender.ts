// Queues frames and hands them to the transport in batches: everything sent during one turn of the event loop goes
// out in one write, which matters on the virtio-serial port, where every write is a syscall and a VM exit. Frames
// are encoded straight into the batch, so each payload byte is copied once (under TCG the guest pays for every copy):
// a payload is read at the end of the turn, so callers must not change it after sending, and none does (payloads
// are socket reads, datagrams and freshly encoded JSON).
import { checkPayloadSize, encodeFrameInto, type Frame, HeaderBytes } from "./frame.ts";

const MaxBatchBytes = 256 * 1024;

export function createFrameSender(write: (bytes: Uint8Array) => void): (frame: Frame) => void {
  let queue: Frame[] = [];
  let queued = 0;
  const flush = () => {
    if (queue.length === 0) return;
    const batch = new Uint8Array(queued);
    let offset = 0;
    for (const frame of queue) offset = encodeFrameInto(batch, offset, frame);
    queue = [];
    queued = 0;
    write(batch);
  };
  return (frame) => {
    checkPayloadSize(frame);
    if (queue.length === 0) queueMicrotask(flush);
    queue.push(frame);
    queued += HeaderBytes + frame.payload.byteLength;
    if (queued >= MaxBatchBytes) flush();
  };
}
