import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface SchemaProblem {
  /** dotted path of the offending value, e.g. `api.port` or `connectors[0].kind` */
  path: string;
  message: string;
}

/** `/connectors/0/kind` → `connectors[0].kind` */
export function dottedPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

export function describeErrors(errors: ErrorObject[] | null | undefined): SchemaProblem[] {
  return (errors ?? []).map((e) => {
    let p = dottedPath(e.instancePath);
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty);
      p = p ? `${p}.${extra}` : extra;
      message = 'is not a known key';
    } else if (e.keyword === 'required') {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      p = p ? `${p}.${missing}` : missing;
      message = 'is required';
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    return { path: p || '(root)', message };
  });
}

/** One Ajv per process: compiling schemas is the expensive part, so compiled validators are cached. */
let shared: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

export function sharedAjv(): Ajv {
  if (!shared) {
    shared = new Ajv({ allErrors: true, strict: false, useDefaults: true });
    addFormats(shared);
  }
  return shared;
}

/** Compiles (once) a schema file under schemas/. */
export function schemaValidator(file: string): ValidateFunction {
  const existing = compiled.get(file);
  if (existing) return existing;
  const schema = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'schemas', file), 'utf8')) as object;
  const validate = sharedAjv().compile(schema);
  compiled.set(file, validate);
  return validate;
}
