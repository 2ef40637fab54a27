import { HubError } from '../core/hubError.ts';

/**
 * Values valid JSON can carry but MongoDB-wire stores refuse, found before anything is written:
 * a number JSON.parse turned into Infinity (`1e400`), NUL (U+0000) in a key (BSON keys are
 * NUL-terminated) or in a string (FerretDB on PostgreSQL refuses it; no FHIR string may hold
 * it), and keys starting with `$` or containing `.` (FerretDB refuses them; no FHIR element is
 * named so). Refusing them at intake and before the store means such a record is answered or
 * dead-lettered with its path, never accepted and then retried forever.
 */

interface Visit {
  value: unknown;
  parent?: Visit;
  /** property name or array index under the parent */
  step?: string | number;
}

const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `Patient.name[0].family`; keys that are not plain names are quoted: `Patient["a.b"]`. */
function pathOf(visit: Visit, root: string): string {
  const steps: Array<string | number> = [];
  for (let v: Visit | undefined = visit; v?.parent; v = v.parent) steps.push(v.step!);
  return steps.reverse().reduce<string>((path, step) => {
    if (typeof step === 'number') return `${path}[${step}]`;
    return SIMPLE_KEY.test(step) ? `${path}.${step}` : `${path}[${JSON.stringify(step)}]`;
  }, root);
}

/**
 * The first value the store would refuse, as a HubError naming its path from `root` (the
 * resource type, e.g. `Patient`), or undefined. Iterative, so deep nesting cannot overflow.
 */
export function unstorableValueError(value: unknown, root: string): HubError | undefined {
  const stack: Visit[] = [{ value }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    const v = visit.value;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) {
        const path = pathOf(visit, root);
        return new HubError('FHIR_NUMBER_NOT_FINITE', `${path} is ${String(v)}: the number is beyond what JSON numbers can hold (e.g. 1e400); send a finite value`, { path });
      }
    } else if (typeof v === 'string') {
      if (v.includes('\u0000')) {
        const path = pathOf(visit, root);
        return new HubError('FHIR_NUL_CHARACTER', `${path} contains a NUL character (U+0000), which no FHIR string may hold and the store refuses; remove it`, { path });
      }
    } else if (Array.isArray(v)) {
      // pushed last-first so the first problem in document order is the one reported
      for (let i = v.length - 1; i >= 0; i -= 1) stack.push({ value: v[i], parent: visit, step: i });
    } else if (typeof v === 'object' && v !== null) {
      const keys = Object.keys(v);
      for (const key of keys) {
        const problem = keyProblem(key);
        if (problem) {
          const path = pathOf({ value: undefined, parent: visit, step: key }, root);
          return new HubError(problem.code, `${path}: the key ${JSON.stringify(key)} ${problem.why}`, { path });
        }
      }
      for (let i = keys.length - 1; i >= 0; i -= 1) stack.push({ value: (v as Record<string, unknown>)[keys[i]!], parent: visit, step: keys[i]! });
    }
  }
  return undefined;
}

function keyProblem(key: string): { code: string; why: string } | undefined {
  if (key.includes('\u0000')) return { code: 'FHIR_NUL_CHARACTER', why: 'contains a NUL character (U+0000), which the store refuses in keys; remove it' };
  if (key.startsWith('$')) return { code: 'FHIR_KEY_NOT_STORABLE', why: 'starts with "$", which the store refuses and no FHIR element is named so' };
  if (key.includes('.')) return { code: 'FHIR_KEY_NOT_STORABLE', why: 'contains ".", which the store refuses and no FHIR element is named so' };
  return undefined;
}
