import type { MappingProblem } from './mappingLoader.ts';
import { familyOf, type MappingRegistry } from './mappingRegistry.ts';
import { parseHl7Path } from './hl7Path.ts';
import { isBlock, isInclude, type Condition, type Expr, type FieldsSpec, type IdRefSpec, type ResourceItem } from './mappingTypes.ts';
import { hasTransform } from './transforms.ts';

/**
 * Checks what the JSON Schema cannot: every path parses, every part, code map and function
 * exists, every `ref` names a resource of the mapping. Run at start-up and by `hub mapping lint`.
 */
export function lintRegistry(registry: MappingRegistry): MappingProblem[] {
  const problems: MappingProblem[] = [];
  for (const { spec, file } of registry.messages) {
    const family = familyOf(spec.id);
    const keys = new Set<string>();
    const reportIn = (f: string) => (where: string, message: string) => problems.push({ file: f, path: where, message });
    collectKeys(spec.resources, keys, registry, family, reportIn(file), 0);
    const report = reportIn(file);
    const lintExpr = makeExprLinter(registry, family, keys, report);
    if (spec.patient && !keys.has(spec.patient)) report('patient', `"${spec.patient}" is not the key of a resource in this mapping`);
    if (spec.eventTime !== undefined) lintExpr(spec.eventTime, 'eventTime');
    spec.directives?.forEach((d, i) => {
      const at = `directives[${i}]`;
      if (typeof d.each === 'string') lintPath(d.each, `${at}.each`, report);
      if (d.when) lintCondition(d.when, `${at}.when`, lintExpr, report);
      const needed = d.kind === 'merge' ? (['survivor', 'retired'] as const) : (['patient', 'other'] as const);
      for (const side of needed) {
        const ref: IdRefSpec | undefined = d[side];
        if (!ref) report(`${at}.${side}`, `a ${d.kind} directive needs ${side}`);
        else ref.hash.forEach((e, j) => lintExpr(e, `${at}.${side}.hash[${j}]`));
      }
    });
    const walk = (list: ResourceItem[], where: string, f: string, lint: typeof lintExpr, rep: Report, depth: number) => {
      list.forEach((r, i) => {
        const at = `${where}[${i}]`;
        if (r.when) lintCondition(r.when, `${at}.when`, lint, rep);
        if (isInclude(r)) {
          if (depth >= 8 || !registry.hasGroup(r.include, family)) return; // reported by collectKeys
          const g = registry.group(r.include, family);
          const gReport = reportIn(g.file);
          walk(g.spec.resources, 'resources', g.file, makeExprLinter(registry, family, keys, gReport), gReport, depth + 1);
          return;
        }
        if (typeof r.each === 'string') lintPath(r.each, `${at}.each`, rep);
        if (isBlock(r)) walk(r.resources, `${at}.resources`, f, lint, rep, depth);
        else {
          r.id.hash.forEach((e, j) => lint(e, `${at}.id.hash[${j}]`));
          for (const name of typeof r.use === 'string' ? [r.use] : r.use ?? []) {
            if (!registry.hasPart(name, family)) rep(`${at}.use`, `unknown part "${name}"`);
          }
          if (r.fields) lintFields(r.fields, `${at}.fields`, lint);
        }
      });
    };
    walk(spec.resources, 'resources', file, lintExpr, report, 0);
  }
  for (const { spec, file } of registry.parts.values()) {
    const report = (where: string, message: string) => problems.push({ file, path: where, message });
    const lintExpr = makeExprLinter(registry, familyOf(spec.id), undefined, report);
    if (spec.fields) lintFields(spec.fields, 'fields', lintExpr);
    if (spec.value !== undefined) lintExpr(spec.value, 'value');
  }
  // A group included by several messages would otherwise report the same problem once per message.
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.file}|${p.path}|${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function collectKeys(list: ResourceItem[], keys: Set<string>, registry: MappingRegistry, family: string, report: Report, depth: number): void {
  list.forEach((r, i) => {
    if (isInclude(r)) {
      if (!registry.hasGroup(r.include, family)) report(`resources[${i}].include`, `unknown group "${r.include}"`);
      else if (depth >= 8) report(`resources[${i}].include`, `group "${r.include}" includes itself`);
      else collectKeys(registry.group(r.include, family).spec.resources, keys, registry, family, report, depth + 1);
    } else if (isBlock(r)) collectKeys(r.resources, keys, registry, family, report, depth);
    else keys.add(r.key);
  });
}

type Report = (where: string, message: string) => void;
type ExprLinter = (e: Expr, where: string) => void;

function lintPath(text: string, where: string, report: Report): void {
  try {
    parseHl7Path(text);
  } catch (err) {
    report(where, (err as Error).message);
  }
}

function lintFields(fields: FieldsSpec, where: string, lintExpr: ExprLinter): void {
  for (const [k, e] of Object.entries(fields)) lintExpr(e, `${where}.${k}`);
}

function lintCondition(c: Condition, where: string, lintExpr: ExprLinter, report: Report): void {
  for (const k of ['exists', 'missing', 'value'] as const) if (c[k] !== undefined) lintExpr(c[k]!, `${where}.${k}`);
  c.all?.forEach((x, i) => lintCondition(x, `${where}.all[${i}]`, lintExpr, report));
  c.any?.forEach((x, i) => lintCondition(x, `${where}.any[${i}]`, lintExpr, report));
  if (c.not) lintCondition(c.not, `${where}.not`, lintExpr, report);
  if (c.matches !== undefined) {
    try {
      new RegExp(c.matches);
    } catch (err) {
      report(`${where}.matches`, `invalid regular expression: ${(err as Error).message}`);
    }
  }
}

function makeExprLinter(registry: MappingRegistry, family: string, keys: Set<string> | undefined, report: Report): ExprLinter {
  const lint: ExprLinter = (e, where) => {
    if (typeof e === 'string') return lintPath(e, where, report);
    if (typeof e !== 'object' || e === null) return;
    if (e.path !== undefined) lintPath(e.path, `${where}.path`, report);
    if (e.each !== undefined) lintPath(e.each, `${where}.each`, report);
    if (e.at !== undefined) lintPath(e.at, `${where}.at`, report);
    if (e.use !== undefined && !registry.hasPart(e.use, family)) report(`${where}.use`, `unknown part "${e.use}"`);
    if (e.codemap !== undefined && !registry.hasCodemap(e.codemap, family)) report(`${where}.codemap`, `unknown codemap "${e.codemap}"`);
    if (e.fn !== undefined && !hasTransform(e.fn)) report(`${where}.fn`, `unknown function "${e.fn}"`);
    for (const k of ['ref', 'refs'] as const) {
      const key = e[k];
      if (key === undefined) continue;
      // Parts run inside a message mapping, so their references are checked where they are used.
      if (keys && !keys.has(key)) report(`${where}.${k}`, `"${key}" is not the key of a resource in this mapping`);
    }
    e.refTo?.hash.forEach((x, i) => lint(x, `${where}.refTo.hash[${i}]`));
    if (e.fields) lintFields(e.fields, `${where}.fields`, lint);
    if (e.value !== undefined) lint(e.value, `${where}.value`);
    for (const k of ['first', 'concat', 'list', 'args'] as const) e[k]?.forEach((x, i) => lint(x, `${where}.${k}[${i}]`));
    if (e.when) lintCondition(e.when, `${where}.when`, lint, report);
  };
  return lint;
}
