/**
 * A site file with `extends: base` changes the base file of the same id instead of replacing
 * it, so a hospital keeps only its differences (a Z-segment field, its own identifier system,
 * a few extra codes) and still receives fixes to the rest of the base file:
 *   part     fields are added or replaced by name; `append` adds to the end of a base field's
 *            list (one more identifier) without restating it; `value` replaces the base value
 *   codemap  entries are added or replaced by code; `default` replaces the base default
 *   message  / group: a resource whose key the base has gets its `fields` added or replaced
 *            (and `use`, `when`, `id` replaced when given; `append` as for parts); other
 *            resources are appended;
 *            `directives` are appended; `match`, `patient`, `eventTime` replace the base's
 * The result's version is `<base version>+<site>.<site version>`, so lineage shows both.
 */
type Data = Record<string, unknown>;

const isObject = (v: unknown): v is Data => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `append` entries join the base field's value in a `list` (which flattens), so nothing is restated. */
function withAppended(fields: Data, append: unknown): Data {
  if (!isObject(append)) return fields;
  const out = { ...fields };
  for (const [k, v] of Object.entries(append)) out[k] = { list: out[k] === undefined ? [v] : [out[k], v] };
  return out;
}

function mergeResources(base: unknown[], site: unknown[]): unknown[] {
  const out = base.map((r) => (isObject(r) ? { ...r } : r));
  for (const r of site) {
    const key = isObject(r) ? r.key : undefined;
    const at = key === undefined ? -1 : out.findIndex((b) => isObject(b) && b.key === key);
    if (at < 0) {
      out.push(r);
      continue;
    }
    const b = out[at] as Data;
    const { append, ...s } = r as Data;
    out[at] = { ...b, ...s, fields: withAppended({ ...(isObject(b.fields) ? b.fields : {}), ...(isObject(s.fields) ? s.fields : {}) }, append) };
  }
  return out;
}

/** The merged document, or a problem description when the two cannot be combined. */
export function extendBase(base: Data, site: Data, siteName: string): Data | string {
  if (base.kind !== site.kind) return `kind "${String(site.kind)}" cannot extend a base file of kind "${String(base.kind)}"`;
  const { extends: _ignored, ...changes } = site;
  const merged: Data = { ...base };
  switch (base.kind) {
    case 'part':
      merged.fields = withAppended({ ...(isObject(base.fields) ? base.fields : {}), ...(isObject(changes.fields) ? changes.fields : {}) }, changes.append);
      if (changes.value !== undefined) merged.value = changes.value;
      break;
    case 'codemap':
      merged.map = { ...(base.map as Data), ...(isObject(changes.map) ? changes.map : {}) };
      if (changes.default !== undefined) merged.default = changes.default;
      if (changes.caseSensitive !== undefined) merged.caseSensitive = changes.caseSensitive;
      break;
    case 'message':
    case 'group':
      for (const k of ['match', 'patient', 'eventTime'] as const) if (changes[k] !== undefined) merged[k] = changes[k];
      if (Array.isArray(changes.resources)) merged.resources = mergeResources(base.resources as unknown[], changes.resources);
      if (Array.isArray(changes.directives)) merged.directives = [...((base.directives as unknown[] | undefined) ?? []), ...changes.directives];
      break;
    default:
      return `kind "${String(base.kind)}" cannot be extended`;
  }
  if (changes.description !== undefined) merged.description = changes.description;
  if (base.kind === 'message') merged.version = `${String(base.version)}+${siteName}.${String(changes.version ?? '1')}`;
  return merged;
}
