import { HubError } from './hubError.ts';

/**
 * What a connector writes to Kafka for each accepted message: the original bytes as the value,
 * and what downstream needs to know about them as headers. The key is the patient identifier
 * when the connector can read one, so a patient's messages stay in order.
 */
export const ENVELOPE_HEADERS = {
  connectorId: 'hub-connector-id',
  sourceSystem: 'hub-source-system',
  receivedAt: 'hub-received-at',
  contentType: 'hub-content-type',
  messageType: 'hub-message-type',
  controlId: 'hub-control-id',
  sendingFacility: 'hub-sending-facility',
  charset: 'hub-charset',
  remoteAddress: 'hub-remote-address',
  fileName: 'hub-file-name',
} as const;

export const CONTENT_TYPES = {
  hl7v2: 'application/hl7-v2',
  fhirJson: 'application/fhir+json',
} as const;
export type ContentType = (typeof CONTENT_TYPES)[keyof typeof CONTENT_TYPES];

export interface InboundEnvelope {
  connectorId: string;
  sourceSystem: string;
  receivedAt: string;
  contentType: ContentType;
  /** `ADT^A01` for HL7v2, the resource type for FHIR */
  messageType?: string;
  controlId?: string;
  sendingFacility?: string;
  /** charset the bytes are in (MSH-18 or HTTP charset) */
  charset?: string;
  remoteAddress?: string;
  fileName?: string;
  /** Kafka key: the patient identifier, when known */
  patientKey?: string;
  raw: Buffer;
}

export function envelopeHeaders(env: InboundEnvelope): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [field, header] of Object.entries(ENVELOPE_HEADERS)) {
    const v = env[field as keyof typeof ENVELOPE_HEADERS];
    if (v !== undefined && v !== '') h[header] = v;
  }
  return h;
}

export function envelopeFromRecord(headers: Record<string, string>, value: Buffer, key?: string): InboundEnvelope {
  const get = (f: keyof typeof ENVELOPE_HEADERS) => headers[ENVELOPE_HEADERS[f]];
  const contentType = get('contentType');
  if (contentType !== CONTENT_TYPES.hl7v2 && contentType !== CONTENT_TYPES.fhirJson) {
    throw new HubError('ENVELOPE_CONTENT_TYPE_UNKNOWN', `record has content type "${contentType ?? ''}"; expected ${Object.values(CONTENT_TYPES).join(' or ')}`);
  }
  const env: InboundEnvelope = {
    connectorId: get('connectorId') ?? 'unknown',
    sourceSystem: get('sourceSystem') ?? 'other',
    receivedAt: get('receivedAt') ?? new Date(0).toISOString(),
    contentType,
    raw: value,
  };
  for (const f of ['messageType', 'controlId', 'sendingFacility', 'charset', 'remoteAddress', 'fileName'] as const) {
    const v = get(f);
    if (v !== undefined) env[f] = v;
  }
  if (key) env.patientKey = key;
  return env;
}
