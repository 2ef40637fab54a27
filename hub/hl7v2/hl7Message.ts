import { HubError } from '../core/hubError.ts';
import { type Hl7Encoding, unescapeHl7 } from './hl7Encoding.ts';

/** HL7v2 explicit null (`""`): "delete the value at the receiver", distinct from an empty field. */
export const HL7_NULL = '""';

/** One repetition of a field: components, each a list of decoded sub-components. */
export type Hl7Repetition = string[][];

/** A leaf read: a string, `null` for an explicit HL7 null, `undefined` for absent/empty. */
export type Hl7Value = string | null | undefined;

function leaf(text: string | undefined): Hl7Value {
  if (text === undefined || text === '') return undefined;
  if (text === HL7_NULL) return null;
  return text;
}

export class Hl7Segment {
  readonly name: string;
  /** 0-based position of this segment in the message */
  readonly position: number;
  private readonly rawFields: string[];
  private readonly encoding: Hl7Encoding;
  private readonly parsed = new Map<number, Hl7Repetition[]>();

  constructor(name: string, rawFields: string[], encoding: Hl7Encoding, position: number) {
    this.name = name;
    this.rawFields = rawFields;
    this.encoding = encoding;
    this.position = position;
  }

  /** Highest field number present. */
  get fieldCount(): number {
    return this.rawFields.length - 1;
  }

  /** The field's text as it appeared on the wire (escapes not decoded). */
  rawField(n: number): string | undefined {
    return this.rawFields[n];
  }

  /** Repetitions of field `n` (1-based, HL7 numbering), decoded. Empty array when absent. */
  field(n: number): Hl7Repetition[] {
    const cached = this.parsed.get(n);
    if (cached) return cached;
    const raw = this.rawFields[n];
    let reps: Hl7Repetition[];
    if (raw === undefined || raw === '') reps = [];
    else if (this.isHeader() && (n === 1 || n === 2)) reps = [[[raw]]]; // MSH-1/MSH-2 are the delimiters themselves
    else reps = this.splitField(raw);
    this.parsed.set(n, reps);
    return reps;
  }

  /** A single leaf: field n, repetition rep (0-based), component and sub-component (1-based). */
  value(field: number, rep = 0, component = 1, sub = 1): Hl7Value {
    const r = this.field(field)[rep];
    if (!r) return undefined;
    return leaf(r[component - 1]?.[sub - 1]);
  }

  isHeader(): boolean {
    return this.name === 'MSH' || this.name === 'BHS' || this.name === 'FHS';
  }

  private splitField(raw: string): Hl7Repetition[] {
    const enc = this.encoding;
    return raw.split(enc.repetition).map((rep) =>
      rep.split(enc.component).map((comp) => comp.split(enc.subcomponent).map((s) => unescapeHl7(s, enc))),
    );
  }
}

/** Read a leaf of a repetition (as passed to a datatype-level mapping part). */
export function repetitionValue(rep: Hl7Repetition | undefined, component = 1, sub = 1): Hl7Value {
  if (!rep) return undefined;
  return leaf(rep[component - 1]?.[sub - 1]);
}

export class Hl7Message {
  readonly encoding: Hl7Encoding;
  readonly segments: readonly Hl7Segment[];
  private readonly byName = new Map<string, Hl7Segment[]>();

  constructor(encoding: Hl7Encoding, segments: Hl7Segment[]) {
    this.encoding = encoding;
    this.segments = segments;
    for (const s of segments) {
      const list = this.byName.get(s.name);
      if (list) list.push(s);
      else this.byName.set(s.name, [s]);
    }
  }

  /** The n-th (0-based) segment with this name. */
  segment(name: string, occurrence = 0): Hl7Segment | undefined {
    return this.byName.get(name)?.[occurrence];
  }

  segmentsNamed(name: string): readonly Hl7Segment[] {
    return this.byName.get(name) ?? [];
  }

  private header(): Hl7Segment {
    // The parser guarantees segments[0] is MSH.
    return this.segments[0]!;
  }

  private headerValue(field: number, component = 1): string | undefined {
    return this.header().value(field, 0, component) ?? undefined;
  }

  get sendingApplication(): string | undefined { return this.headerValue(3); }
  get sendingFacility(): string | undefined { return this.headerValue(4); }
  get receivingApplication(): string | undefined { return this.headerValue(5); }
  get receivingFacility(): string | undefined { return this.headerValue(6); }
  get dateTimeOfMessage(): string | undefined { return this.headerValue(7); }
  get messageType(): string | undefined { return this.headerValue(9, 1); }
  get triggerEvent(): string | undefined { return this.headerValue(9, 2); }
  get messageStructure(): string | undefined { return this.headerValue(9, 3); }
  get controlId(): string | undefined { return this.headerValue(10); }
  get processingId(): string | undefined { return this.headerValue(11); }
  get version(): string | undefined { return this.headerValue(12); }
  get acceptAckType(): string | undefined { return this.headerValue(15); }
  get applicationAckType(): string | undefined { return this.headerValue(16); }
  get characterSet(): string | undefined { return this.headerValue(18); }

  /** `ADT^A01` style label for logs, headers and mapping selection. */
  get typeLabel(): string {
    return [this.messageType ?? '', this.triggerEvent ?? ''].filter(Boolean).join('^');
  }
}

export function hl7Error(code: string, message: string, segment: string, field?: number, sequence?: number): HubError {
  return new HubError(code, message, { hl7: { segment, ...(field ? { field } : {}), ...(sequence ? { sequence } : {}) } });
}
