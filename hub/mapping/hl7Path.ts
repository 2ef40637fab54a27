import { HubError } from '../core/hubError.ts';

/**
 * Paths into an HL7v2 message, in the notation integration engineers already use:
 *   PID-5          field 5 of the PID in scope (first repetition, component 1)
 *   PID-3[1].4.2   second repetition (0-based), component 4, sub-component 2 (1-based)
 *   PID-3[*]       every repetition (for `each`)
 *   OBX[2]-5       third OBX in scope
 *   CX.4.1         inside a datatype part: component 4, sub-component 1 of the current value
 *   NK1            a segment (for `each` and `exists`)
 */
export type Hl7Path =
  /** `indexed`: the path named an occurrence (`PID[1]`), so `each` visits that one only */
  | { kind: 'segment'; segment: string; occurrence: number; indexed?: boolean }
  | {
      kind: 'field';
      segment: string;
      occurrence: number;
      field: number;
      /** undefined = first repetition for reads; 'all' = every repetition */
      repetition: number | 'all' | undefined;
      component?: number;
      sub?: number;
    }
  | { kind: 'datatype'; datatype: string; component: number; sub?: number };

const SEGMENT = /^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?$/;
const FIELD = /^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?-(\d+)(?:\[(\d+|\*)\])?(?:\.(\d+)(?:\.(\d+))?)?$/;
const DATATYPE = /^([A-Z]{2,3})\.(\d+)(?:\.(\d+))?$/;

const cache = new Map<string, Hl7Path>();

export function isHl7Path(text: string): boolean {
  return SEGMENT.test(text) || FIELD.test(text) || DATATYPE.test(text);
}

export function parseHl7Path(text: string): Hl7Path {
  const hit = cache.get(text);
  if (hit) return hit;
  let path: Hl7Path | undefined;
  let m = FIELD.exec(text);
  if (m) {
    const [, segment, occ, field, rep, comp, sub] = m;
    path = {
      kind: 'field', segment: segment!, occurrence: occ ? Number(occ) : 0, field: Number(field),
      repetition: rep === '*' ? 'all' : rep !== undefined ? Number(rep) : undefined,
      ...(comp ? { component: Number(comp) } : {}),
      ...(sub ? { sub: Number(sub) } : {}),
    };
  } else if ((m = SEGMENT.exec(text))) {
    path = { kind: 'segment', segment: m[1]!, occurrence: m[2] ? Number(m[2]) : 0, ...(m[2] ? { indexed: true } : {}) };
  } else if ((m = DATATYPE.exec(text))) {
    path = { kind: 'datatype', datatype: m[1]!, component: Number(m[2]), ...(m[3] ? { sub: Number(m[3]) } : {}) };
  }
  if (!path) {
    throw new HubError('MAPPING_PATH_INVALID',
      `"${text}" is not an HL7 path (expected e.g. PID-5.1, PID-3[0].4.1, OBX[2]-5, CX.4.1 or a segment name); write {const: ${JSON.stringify(text)}} for a literal`);
  }
  if ((path.kind === 'field' && (path.field < 1 || path.component === 0 || path.sub === 0)) || (path.kind === 'datatype' && (path.component < 1 || path.sub === 0))) {
    throw new HubError('MAPPING_PATH_INVALID', `"${text}": field, component and sub-component numbers start at 1`);
  }
  cache.set(text, path);
  return path;
}
