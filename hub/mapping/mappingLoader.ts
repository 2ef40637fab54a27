import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isMap, isNode, isScalar, type Document } from 'yaml';
import { HubError } from '../core/hubError.ts';
import { describeErrors, schemaValidator } from '../core/schemaValidator.ts';
import { lintRegistry } from './mappingLinter.ts';
import { MappingRegistry } from './mappingRegistry.ts';
import type { CodemapSpec, GroupPartSpec, MessageMappingSpec, PartSpec } from './mappingTypes.ts';
import { extendBase } from './siteOverlay.ts';

export interface MappingProblem {
  file: string;
  line?: number;
  path: string;
  message: string;
}

export function formatProblem(p: MappingProblem): string {
  return `${p.file}${p.line ? `:${p.line}` : ''}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listFiles(full));
    else if (/\.(ya?ml|json)$/.test(name)) out.push(full);
  }
  return out;
}

/** Line of the YAML node at an ajv instance path, so errors point into the file. */
function lineOf(doc: Document, counter: LineCounter, dotted: string): number | undefined {
  const keys = dotted === '(root)' ? [] : dotted.replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean).map((k) => (/^\d+$/.test(k) ? Number(k) : k));
  // An unknown or misspelt key: point at the key itself, not at its value.
  const parent = keys.length ? (keys.length === 1 ? doc.contents : doc.getIn(keys.slice(0, -1), true)) : undefined;
  if (isMap(parent)) {
    const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === keys[keys.length - 1]);
    if (pair && isNode(pair.key) && pair.key.range) return counter.linePos(pair.key.range[0]).line;
  }
  for (let n = keys.length; n >= 0; n -= 1) {
    const node = keys.length === 0 ? doc.contents : doc.getIn(keys.slice(0, n), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}

export interface LoadedMappings {
  registry: MappingRegistry;
  problems: MappingProblem[];
}

/**
 * Reads every mapping file under `dir` (and, when `site` is given, the site's overrides under
 * `dir/sites/<site>`, which replace base files with the same id, or change them when they say
 * `extends: base`; see siteOverlay.ts). Never throws for bad files:
 * problems come back with file, line and path so `hub mapping lint` can list them all.
 */
export function readMappings(dir: string, site?: string): LoadedMappings {
  const registry = new MappingRegistry();
  const problems: MappingProblem[] = [];
  const validate = schemaValidator('mapping.schema.json');
  const sitesDir = path.join(dir, 'sites');
  const entries = new Map<string, { file: string; data: Record<string, unknown> }>();
  const parsed = new Map<string, { doc: Document; counter: LineCounter }>();

  const load = (root: string, files: string[]) => {
    for (const full of files) {
      const file = path.relative(dir, full);
      const id = path.relative(root, full).replace(/\.(ya?ml|json)$/, '').split(path.sep).join('/');
      if (/(^|\/)(README|golden|fixtures?)(\/|$)/i.test(id) || id.startsWith('sites/')) continue;
      const counter = new LineCounter();
      const doc = parseDocument(readFileSync(full, 'utf8'), { lineCounter: counter, prettyErrors: true });
      if (doc.errors.length) {
        for (const e of doc.errors) problems.push({ file, line: e.linePos?.[0]?.line, path: '', message: `YAML: ${e.message.split('\n')[0]}` });
        continue;
      }
      parsed.set(file, { doc, counter });
      const data = doc.toJS() as unknown;
      if (!validate(data)) {
        // `oneOf` over expression forms reports every branch; keep the most specific messages.
        const seen = new Set<string>();
        for (const p of describeErrors(validate.errors)) {
          const key = `${p.path}|${p.message}`;
          if (seen.has(key) || /must match (exactly one|"then"|"else") schema/.test(p.message)) continue;
          seen.add(key);
          problems.push({ file, line: lineOf(doc, counter, p.path), path: p.path, message: p.message });
        }
        continue;
      }
      const record = data as Record<string, unknown>;
      if (record.extends === 'base') {
        const base = entries.get(id);
        if (!base) {
          problems.push({ file, line: lineOf(doc, counter, 'extends'), path: 'extends', message: `there is no base file "${id}" to extend` });
          continue;
        }
        const merged = extendBase(base.data, record, site ?? '');
        if (typeof merged === 'string') {
          problems.push({ file, line: lineOf(doc, counter, 'kind'), path: 'kind', message: merged });
          continue;
        }
        if (!validate(merged)) {
          for (const p of describeErrors(validate.errors)) {
            if (/must match (exactly one|"then"|"else") schema/.test(p.message)) continue;
            problems.push({ file, path: p.path, message: `after extending ${base.file}: ${p.message}` });
          }
          continue;
        }
        entries.set(id, { file: `${base.file} + ${file}`, data: merged });
        continue;
      }
      entries.set(id, { file, data: record });
    }
  };

  load(dir, listFiles(dir).filter((f) => !f.startsWith(sitesDir + path.sep)));
  if (site) {
    const siteDir = path.join(sitesDir, site);
    try {
      load(siteDir, listFiles(siteDir));
    } catch (err) {
      problems.push({ file: path.relative(dir, siteDir), path: '', message: `cannot read site folder: ${(err as Error).message}` });
    }
  }

  // A site's parts and code maps change what every message produces: lineage must say so.
  const siteActive = site !== undefined && [...entries.values()].some((e) => e.file.startsWith(`sites${path.sep}${site}${path.sep}`) || e.file.includes(` + sites${path.sep}${site}${path.sep}`));
  for (const [id, { file, data }] of entries) {
    const spec = { ...data, id } as { id: string; kind: string; version?: string };
    if (siteActive && spec.kind === 'message' && !String(spec.version).includes('+')) spec.version = `${String(spec.version)}+${site}`;
    if (spec.kind === 'message') registry.messages.push({ spec: spec as unknown as MessageMappingSpec, file });
    else if (spec.kind === 'part') registry.parts.set(id, { spec: spec as unknown as PartSpec, file });
    else if (spec.kind === 'codemap') registry.codemaps.set(id, { spec: spec as unknown as CodemapSpec, file });
    else if (spec.kind === 'group') registry.groups.set(id, { spec: spec as unknown as GroupPartSpec, file });
  }
  // Lint problems name a path in the file; find its line as for schema problems.
  for (const p of lintRegistry(registry)) {
    const source = parsed.get(p.file);
    const line = source && p.path ? lineOf(source.doc, source.counter, p.path) : undefined;
    problems.push(line ? { ...p, line } : p);
  }
  return { registry, problems };
}

/** For start-up: any problem stops the hub with every problem listed. */
export function loadMappings(dir: string, site?: string): MappingRegistry {
  const { registry, problems } = readMappings(dir, site);
  if (problems.length) {
    throw new HubError('MAPPING_INVALID', `${problems.length} mapping problem(s):\n${problems.map(formatProblem).join('\n')}`, { problems });
  }
  return registry;
}
