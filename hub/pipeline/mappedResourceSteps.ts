import type { Resource } from 'fhir/r4.js';
import { HubError, toHubError } from '../core/hubError.ts';
import type { ResourceStore, StoredResource, WriteResult } from '../store/resourceStore.ts';
import { unstorableValueError } from '../store/storableJson.ts';
import { storeErrorKind } from '../store/storeErrorKind.ts';
import { MessageRejected, type NormalizedMessage, type PreparedMessage } from './hl7v2Normalizer.ts';
import type { ResourceValidator } from './resourceValidator.ts';

/**
 * The validate and store steps every normalizer shares (HL7v2, FHIR input): whatever the input
 * format, mapped resources pass the same validators and reach the store the same way.
 */

export interface ResourceToStore {
  key: string;
  resource: StoredResource;
  /** when the source says this happened; an older time never overwrites newer stored data */
  sourceTime?: string;
}

export type WrittenResource = { key: string; reference: string; result: WriteResult };

/**
 * Throws a HubError naming the first value the store would refuse (a non-finite number, NUL,
 * a `$` or dotted key: it would fail the same way on every attempt), else naming every problem
 * (path and mapping file) when any validator objects.
 */
export function validateMapped(resources: ReadonlyArray<{ resource: Resource }>, validators: ResourceValidator[], mappingFile: string): void {
  for (const r of resources) {
    const unstorable = unstorableValueError(r.resource, r.resource.resourceType);
    if (unstorable) throw unstorable;
  }
  const problems = resources.flatMap((r) => validators.flatMap((v) => v(r.resource, mappingFile)));
  if (problems.length) {
    const first = problems[0]!;
    throw new HubError(first.code, problems.map((p) => p.message).join('; '), { ...first.detail, problems: problems.map((p) => p.toJSON()) });
  }
}

/** Refuses a message that maps to more resources than one message may write (`pipeline.limits.maxResources`). */
export function checkResourceCount(count: number, maxResources: number): void {
  if (count > maxResources) {
    throw new HubError('PIPELINE_TOO_MANY_RESOURCES',
      `the message maps to ${count} resources, more than the ${maxResources} one message may write (pipeline.limits.maxResources); send it as several messages`);
  }
}

/** Patients first: clinical resources reference them, and the patient index reacts to them. */
export function storeOrder(resources: readonly ResourceToStore[]): ResourceToStore[] {
  return [...resources].sort((a, b) => rank(a.resource) - rank(b.resource));
}

/**
 * Writes the resources of several messages in one batch (in message order, each message's
 * Patients first), noting each message as the writer of what it changed. A store refusal of the
 * data is a message's fault (dead-letter); anything else is infrastructure and is thrown so the
 * consumer retries (storeErrorKind.ts tells them apart). Returns, per message, what each
 * resource became.
 */
export async function storeBatch(store: ResourceStore, messages: ReadonlyArray<{ resources: readonly ResourceToStore[]; writer?: string }>): Promise<WrittenResource[][]> {
  const ordered = messages.map((m) => storeOrder(m.resources));
  const requests = ordered.flatMap((list, i) => list.map((r) => ({
    resource: r.resource, ...(r.sourceTime ? { sourceTime: r.sourceTime } : {}), ...(messages[i]!.writer ? { writer: messages[i]!.writer } : {}),
  })));
  let results: WriteResult[];
  try {
    results = await store.writeMany(requests);
  } catch (err) {
    const e = toHubError(err, 'STORE_WRITE_FAILED');
    if (storeErrorKind(err) === 'permanent') throw new MessageRejected(e, 'store');
    throw e;
  }
  let next = 0;
  return ordered.map((list) => list.map((r) => ({ key: r.key, reference: `${r.resource.resourceType}/${r.resource.id}`, result: results[next++]! })));
}

/** One message's resources, stored (tests and `hub mapping test --against-store` use it). */
export async function storePrepared(store: ResourceStore, prepared: PreparedMessage, writer?: string): Promise<NormalizedMessage> {
  const [written] = await storeBatch(store, [{ resources: prepared.resources, ...(writer ? { writer } : {}) }]);
  const { resources: _resources, ...rest } = prepared;
  return { ...rest, written: written! };
}

function rank(r: Resource): number {
  return r.resourceType === 'Patient' ? 0 : 1;
}
