import { HubError } from '../core/hubError.ts';
import { valueTransforms } from './valueTransforms.ts';

/**
 * Named transforms a mapping may call with `fn:`. Anything a mapping needs beyond paths,
 * parts, code maps, constants and references lives here, as a small tested function, so
 * mapping files stay data.
 */
export interface TransformContext {
  identifierSystemBase: string;
  sourceSystem: string;
}

export type Transform = (value: unknown, args: unknown[], ctx: TransformContext) => unknown;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

const OID = /^[0-2](\.(0|[1-9]\d*))+$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * An identifier system URI from an HL7 assigning authority (HD: namespace ^ universal id ^
 * type). ISO OIDs become urn:oid:, UUIDs urn:uuid:, URIs stay; a bare namespace becomes a URI
 * under the site's base, so MRNs of different authorities never share a system.
 */
export function identifierSystem(namespace: unknown, universalId: unknown, universalIdType: unknown, ctx: TransformContext): string | undefined {
  const uid = str(universalId);
  const type = str(universalIdType)?.toUpperCase();
  if (uid) {
    if (/^(urn:|https?:\/\/)/i.test(uid)) return uid;
    if (OID.test(uid) && (!type || type === 'ISO' || type === 'HL7')) return `urn:oid:${uid}`;
    if (UUID.test(uid) && (!type || type === 'GUID' || type === 'UUID')) return `urn:uuid:${uid.toLowerCase()}`;
  }
  const ns = str(namespace) ?? uid;
  if (!ns) return undefined;
  if (/^(urn:|https?:\/\/)/i.test(ns)) return ns;
  if (OID.test(ns)) return `urn:oid:${ns}`;
  return `${ctx.identifierSystemBase.replace(/\/$/, '')}/${encodeURIComponent(ns.trim())}`;
}

const transforms: Record<string, Transform> = {
  /** `fn: identifierSystem, args: [CX.4.1, CX.4.2, CX.4.3]` (or the namespace as the value) */
  identifierSystem: (value, args, ctx) => identifierSystem(args[0] ?? value, args[1], args[2], ctx),
  /** `sourceIdentifierSystem`: a system for ids that only mean something inside one source system */
  sourceIdentifierSystem: (value, _args, ctx) => {
    const kind = str(value) ?? 'id';
    return `${ctx.identifierSystemBase.replace(/\/$/, '')}/${encodeURIComponent(ctx.sourceSystem)}/${encodeURIComponent(kind)}`;
  },
  /** a Coding.system URI for a v2 coding-system name that no code map knows (HL70001, a local name) */
  codeSystemUri: (v, _args, ctx) => {
    const name = str(v)?.trim();
    if (!name) return undefined;
    if (/^(urn:|https?:\/\/)/i.test(name)) return name;
    const table = /^HL7(\d{4})$/i.exec(name);
    if (table) return `http://terminology.hl7.org/CodeSystem/v2-${table[1]}`;
    if (OID.test(name)) return `urn:oid:${name}`;
    return `${ctx.identifierSystemBase.replace(/\/$/, '')}/codesystem/${encodeURIComponent(name)}`;
  },
  upper: (v) => str(v)?.toUpperCase(),
  lower: (v) => str(v)?.toLowerCase(),
  trim: (v) => str(v)?.trim(),
  /** splits on a separator and returns the n-th (0-based) part: `fn: split, args: [" ", 0]` */
  split: (v, args) => {
    const s = str(v);
    if (s === undefined) return undefined;
    const parts = s.split(String(args[0] ?? ' '));
    return args[1] === undefined ? parts : parts[Number(args[1])];
  },
  /** digits and a leading + only: phone numbers as sent by most HIS */
  phoneDigits: (v) => {
    const s = str(v);
    if (!s) return undefined;
    const cleaned = s.replace(/(?!^\+)[^\d]/g, '');
    return cleaned || undefined;
  },
  /** `fn: prefix, args: ["urn:oid:"]` */
  prefix: (v, args) => (str(v) === undefined ? undefined : `${String(args[0] ?? '')}${str(v)}`),
  /** an HL7 telephone (XTN) use code to a FHIR ContactPoint.system */
  telecomSystem: (v, args) => {
    const equipment = str(v)?.toUpperCase();
    const address = str(args[0]);
    if (equipment === 'INTERNET' || equipment === 'X.400' || (address && address.includes('@'))) return 'email';
    if (equipment === 'FX') return 'fax';
    if (equipment === 'BP') return 'pager';
    if (equipment === 'URL') return 'url';
    return 'phone';
  },
  ...valueTransforms,
};

export function getTransform(name: string): Transform {
  const t = transforms[name];
  if (!t) throw new HubError('MAPPING_FUNCTION_UNKNOWN', `unknown function "${name}"; known: ${Object.keys(transforms).sort().join(', ')}`);
  return t;
}

export function hasTransform(name: string): boolean {
  return Object.hasOwn(transforms, name);
}
