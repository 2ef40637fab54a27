/**
 * The mapping language (see mappings/README.md). Mapping files are data: YAML documents
 * validated by schemas/mapping.schema.json, evaluated by mappingEngine.ts.
 */

/** A value expression. A bare string is an HL7 path; numbers and booleans are constants. */
export type Expr = string | number | boolean | ExprObject;

export interface Modifiers {
  /** evaluate only when the condition holds */
  when?: Condition;
  /** a named TypeScript transform applied to the value (see transforms.ts) */
  fn?: string;
  /** extra arguments for `fn` */
  args?: Expr[];
  /** a code map (mappings/<family>/codemaps/<name>.yaml) */
  codemap?: string;
  /** an inline code map */
  map?: Record<string, unknown>;
  /** conversion to a FHIR primitive */
  as?: PrimitiveKind;
  /** used when the expression yields nothing */
  default?: unknown;
}

export type PrimitiveKind =
  | 'string' | 'code' | 'date' | 'dateTime' | 'instant' | 'time' | 'integer' | 'positiveInt'
  | 'unsignedInt' | 'decimal' | 'boolean';

export interface ExprObject extends Modifiers {
  path?: string;
  const?: unknown;
  var?: string;
  ref?: string;
  refs?: string;
  /** a reference computed with a resource's id rule, for resources created once per segment (a ROL's Practitioner) */
  refTo?: IdRefSpec;
  each?: string;
  use?: string;
  at?: string;
  fields?: FieldsSpec;
  value?: Expr;
  first?: Expr[];
  concat?: Expr[];
  sep?: string;
  list?: Expr[];
}

/** Output keys may be dotted (`period.start`) to set nested elements. */
export type FieldsSpec = Record<string, Expr>;

export interface Condition {
  exists?: Expr;
  missing?: Expr;
  value?: Expr;
  equals?: string | number | boolean;
  in?: Array<string | number | boolean>;
  matches?: string;
  all?: Condition[];
  any?: Condition[];
  not?: Condition;
}

export interface GroupSpec {
  /** segments that open a group, in their order within the group (e.g. [ORC, OBR]) */
  group: string[];
  /** segments that end the group without opening a new one (e.g. [PID]) */
  until?: string[];
}

/** A resource template. */
export interface ResourceSpec {
  key: string;
  type: string;
  /** one resource per segment (NK1) or per group */
  each?: string | GroupSpec;
  when?: Condition;
  id: IdSpec;
  /**
   * The same thing may be named more than once in a message (the attending doctor is also the
   * admitting doctor, two visits in one ward): equal ids are one resource, not two.
   */
  shared?: boolean;
  /** parts whose fields come first (e.g. segments/PID-Patient); `fields` add to or replace them */
  use?: string | string[];
  fields?: FieldsSpec;
}

/** A block of resources repeated per segment or group. */
export interface BlockSpec {
  each: string | GroupSpec;
  when?: Condition;
  resources: ResourceItem[];
}

/** Brings the resources of a shared group file (`groups/ADT-Visit`) into a resource list. */
export interface IncludeSpec {
  include: string;
  when?: Condition;
}

export type ResourceItem = ResourceSpec | BlockSpec | IncludeSpec;

/** A source record's id, computed like the resource it names (for records this message does not carry). */
export interface IdRefSpec {
  type: string;
  hash: Expr[];
}

/** A statement about patient identity for the patient index (A40 merge, A47 identifier change, A37 unlink). */
export interface DirectiveSpec {
  kind: 'merge' | 'unlink';
  each?: string | GroupSpec;
  when?: Condition;
  /** merge: the record that survives / the record retired into it */
  survivor?: IdRefSpec;
  retired?: IdRefSpec;
  /** unlink: the two records that are not the same person */
  patient?: IdRefSpec;
  other?: IdRefSpec;
}

export interface IdSpec {
  /** values hashed (with the resource type) into the id */
  hash: Expr[];
}

export interface MessageMatch {
  messageType: string | string[];
  triggerEvent?: string | string[];
  /** MSH-9.3 message structure */
  structure?: string | string[];
}

export interface MessageMappingSpec {
  id: string;
  version: string;
  description?: string;
  match: MessageMatch;
  /** the resource key whose patient identifier keys the message (per-patient ordering, MPI) */
  patient?: string;
  /** where the event time comes from, to keep older messages from overwriting newer data */
  eventTime?: Expr;
  resources: ResourceItem[];
  directives?: DirectiveSpec[];
}

/** A reusable list of resources (kind: group), included by message mappings. */
export interface GroupPartSpec {
  id: string;
  description?: string;
  resources: ResourceItem[];
}

export interface PartSpec {
  id: string;
  description?: string;
  /** the HL7 datatype the part reads (CX, XPN...), or a segment name for segment-level parts */
  datatype?: string;
  fields?: FieldsSpec;
  value?: Expr;
}

export interface CodemapSpec {
  id: string;
  description?: string;
  caseSensitive?: boolean;
  map: Record<string, unknown>;
  default?: unknown;
}

export function isBlock(spec: ResourceItem): spec is BlockSpec {
  return (spec as BlockSpec).resources !== undefined;
}

export function isInclude(spec: ResourceItem): spec is IncludeSpec {
  return (spec as IncludeSpec).include !== undefined;
}
