/** MLLP: <VT> message <FS><CR>. Bytes between frames are noise and are dropped. */
export const MLLP_START = 0x0b;
export const MLLP_END = 0x1c;
export const MLLP_CR = 0x0d;

export function frame(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([MLLP_START]), payload, Buffer.from([MLLP_END, MLLP_CR])]);
}

export type FrameEvent =
  | { kind: 'message'; payload: Buffer }
  /** a frame grew past the size limit; its bytes up to the next frame are discarded */
  | { kind: 'oversized'; size: number };

/**
 * Reassembles frames from TCP chunks: a frame may arrive in many packets and one packet may
 * hold several frames. Memory is bounded by `maxMessageBytes`: an oversized frame is reported
 * once and skipped rather than buffered.
 */
export class MllpDecoder {
  private chunks: Buffer[] = [];
  private size = 0;
  private inFrame = false;
  private discarding = false;
  /** the previous chunk ended with FS, the CR may start the next chunk */
  private pendingEnd = false;

  constructor(private readonly maxMessageBytes: number) {}

  push(data: Buffer): FrameEvent[] {
    const events: FrameEvent[] = [];
    let i = 0;
    while (i < data.length) {
      if (this.pendingEnd) {
        this.pendingEnd = false;
        if (data[i] === MLLP_CR) {
          this.finish(events);
          i += 1;
          continue;
        }
        this.append(Buffer.from([MLLP_END]), events); // a lone FS inside the payload
      }
      if (!this.inFrame) {
        const start = data.indexOf(MLLP_START, i);
        if (start < 0) return events;
        this.inFrame = true;
        this.discarding = false;
        this.chunks = [];
        this.size = 0;
        i = start + 1;
        continue;
      }
      const end = data.indexOf(MLLP_END, i);
      if (end < 0) {
        this.append(data.subarray(i), events);
        return events;
      }
      this.append(data.subarray(i, end), events);
      if (end + 1 >= data.length) {
        this.pendingEnd = true;
        return events;
      }
      if (data[end + 1] === MLLP_CR) {
        this.finish(events);
        i = end + 2;
      } else {
        this.append(data.subarray(end, end + 1), events);
        i = end + 1;
      }
    }
    return events;
  }

  /** bytes buffered for the frame in progress */
  get buffered(): number {
    return this.size;
  }

  private append(part: Buffer, events: FrameEvent[]): void {
    if (this.discarding || part.length === 0) {
      if (this.discarding) this.size += part.length;
      return;
    }
    if (this.size + part.length > this.maxMessageBytes) {
      this.discarding = true;
      this.size += part.length;
      this.chunks = [];
      events.push({ kind: 'oversized', size: this.size });
      return;
    }
    // Copy: the socket may reuse its buffer after the callback.
    this.chunks.push(Buffer.from(part));
    this.size += part.length;
  }

  private finish(events: FrameEvent[]): void {
    if (!this.discarding) events.push({ kind: 'message', payload: Buffer.concat(this.chunks, this.size) });
    this.inFrame = false;
    this.discarding = false;
    this.chunks = [];
    this.size = 0;
  }
}
