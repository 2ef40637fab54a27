/** MLLP: <VT> message <FS><CR>. Bytes between frames are noise and are dropped. */
export const MLLP_START = 0x0b;
export const MLLP_END = 0x1c;
export const MLLP_CR = 0x0d;

export function frame(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([MLLP_START]), payload, Buffer.from([MLLP_END, MLLP_CR])]);
}

export type FrameEvent =
  | { kind: 'message'; payload: Buffer }
  /**
   * a frame grew past the size limit; its bytes up to the end of the frame are discarded.
   * `head` keeps the first bytes (the MSH) so the NAK can still name the control id.
   */
  | { kind: 'oversized'; size: number; head: Buffer }
  /** a new frame started before the previous one ended (the sender gave up on it) */
  | { kind: 'abandoned'; size: number };

/** How much of an oversized frame is kept to answer it. */
const HEAD_BYTES = 64 * 1024;

/**
 * Reassembles frames from TCP chunks: a frame may arrive in many packets and one packet may
 * hold several frames. Memory is bounded by `maxMessageBytes`: an oversized frame is reported
 * when it ends and skipped rather than buffered.
 */
export class MllpDecoder {
  private chunks: Buffer[] = [];
  private size = 0;
  private inFrame = false;
  private discarding = false;
  private head: Buffer | undefined;
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
        this.append(Buffer.from([MLLP_END])); // a lone FS inside the payload
      }
      if (!this.inFrame) {
        const start = data.indexOf(MLLP_START, i);
        if (start < 0) return events;
        this.begin();
        i = start + 1;
        continue;
      }
      const end = data.indexOf(MLLP_END, i);
      const restart = data.indexOf(MLLP_START, i);
      if (restart >= 0 && (end < 0 || restart < end)) {
        // VT never occurs in HL7 text: the sender has started over, so the partial frame is dead.
        this.append(data.subarray(i, restart));
        events.push({ kind: 'abandoned', size: this.size });
        this.begin();
        i = restart + 1;
        continue;
      }
      if (end < 0) {
        this.append(data.subarray(i));
        return events;
      }
      this.append(data.subarray(i, end));
      if (end + 1 >= data.length) {
        this.pendingEnd = true;
        return events;
      }
      if (data[end + 1] === MLLP_CR) {
        this.finish(events);
        i = end + 2;
      } else {
        this.append(data.subarray(end, end + 1));
        i = end + 1;
      }
    }
    return events;
  }

  /** bytes buffered for the frame in progress */
  get buffered(): number {
    return this.discarding ? 0 : this.size;
  }

  private begin(): void {
    this.inFrame = true;
    this.discarding = false;
    this.chunks = [];
    this.size = 0;
    this.head = undefined;
  }

  private append(part: Buffer): void {
    if (part.length === 0) return;
    if (this.discarding) {
      this.size += part.length;
      return;
    }
    if (this.size + part.length > this.maxMessageBytes) {
      this.discarding = true;
      this.head = Buffer.concat([...this.chunks, part]).subarray(0, Math.min(HEAD_BYTES, this.maxMessageBytes));
      this.size += part.length;
      this.chunks = [];
      return;
    }
    // Copy: the socket may reuse its buffer after the callback.
    this.chunks.push(Buffer.from(part));
    this.size += part.length;
  }

  private finish(events: FrameEvent[]): void {
    if (this.discarding) events.push({ kind: 'oversized', size: this.size, head: this.head ?? Buffer.alloc(0) });
    else events.push({ kind: 'message', payload: Buffer.concat(this.chunks, this.size) });
    this.inFrame = false;
    this.discarding = false;
    this.chunks = [];
    this.size = 0;
    this.head = undefined;
  }
}
