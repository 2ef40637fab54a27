import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from 'fhir/r4.js';
import type { HubConfig } from '../../hub/config/hubConfig.ts';
import { loadConfig } from '../../hub/config/loadConfig.ts';
import { HubError, toHubError } from '../../hub/core/hubError.ts';
import { PROJECT_ROOT } from '../../hub/core/schemaValidator.ts';
import { decodeHl7 } from '../../hub/hl7v2/hl7Charset.ts';
import { parseHl7 } from '../../hub/hl7v2/hl7Parser.ts';
import { mapHl7Message, selectMapping, type MappingOutput } from '../../hub/mapping/mappingEngine.ts';
import { formatProblem, readMappings } from '../../hub/mapping/mappingLoader.ts';
import type { MappingRegistry } from '../../hub/mapping/mappingRegistry.ts';
import { byReference, diffJson, formatDifferences } from '../../hub/mapping/outputDiff.ts';
import { mapFhirInput } from '../../hub/pipeline/fhirInputMapping.ts';
import { fhirInputRules } from '../../hub/pipeline/fhirInputRules.ts';
import { outputRuleViolations } from '../../hub/pipeline/outputRuleChecks.ts';
import { loadDataProtection } from '../../hub/crypto/dataProtection.ts';
import { openBytes, openResourceDoc, type ResourceDocFields } from '../../hub/store/fieldProtector.ts';
import { connectMongo } from '../../hub/store/mongoConnection.ts';
import { parseArgs, type Command } from './command.ts';

const USAGE = `usage:
  hub mapping lint [--dir DIR] [--site SITE]
  hub mapping test <message.hl7|input.json|folder> [--mapping ID] [--expect DIR] [--update] [--source-system SYS] [--dir DIR] [--site SITE]
  hub mapping test --against-store [--mapping ID] [--limit N] [--show N]

lint      validates every mapping file (schema, paths, parts, code maps, references); exit 1 on problems.
test      maps each message (HL7v2, or FHIR input as .json) and prints the FHIR output; every output must pass the rule checks
          (ids unique, references resolve, no empty elements, FHIR R4 schema). --expect DIR compares
          with DIR/<name>.expected.json and prints a diff (--update rewrites them); exit 1 on any
          violation or difference.
--against-store  re-maps the source messages kept in MongoDB (source_messages) with the current
          mappings and diffs the result against the stored resources: the effect of a mapping fix
          before replaying it.`;

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const stdio: Io = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) };

function option(options: Record<string, string | true>, name: string): string | undefined {
  const v = options[name];
  if (v === true) throw new HubError('CLI_ARGUMENT_INVALID', `--${name} needs a value`);
  return v;
}

function mappingsOf(options: Record<string, string | true>, config: HubConfig): { registry: MappingRegistry; problems: string[]; dir: string } {
  const dir = path.resolve(PROJECT_ROOT, option(options, 'dir') ?? config.mappings.dir);
  const { registry, problems } = readMappings(dir, option(options, 'site') ?? config.mappings.site);
  return { registry, problems: problems.map(formatProblem), dir };
}

/** What a golden file holds for one message: the mapping applied, event time, directives and resources. */
export function goldenView(out: MappingOutput): Record<string, unknown> & { resources: Resource[] } {
  return {
    mapping: `${out.mappingId}@${out.mappingVersion}`,
    ...(out.eventTime ? { eventTime: out.eventTime } : {}),
    ...(out.directives ? { directives: out.directives } : {}),
    resources: out.resources.map((r) => r.resource),
  };
}

function messageFiles(target: string): string[] {
  if (!existsSync(target)) throw new HubError('CLI_ARGUMENT_INVALID', `${target} does not exist`);
  if (!statSync(target).isDirectory()) return [target];
  return readdirSync(target).filter((f) => /\.(hl7|txt|er7)$/i.test(f) || (/\.json$/i.test(f) && !f.endsWith('.expected.json'))).sort().map((f) => path.join(target, f));
}

function mapRaw(raw: Buffer, registry: MappingRegistry, config: HubConfig, sourceSystem: string, mappingId: string | undefined): MappingOutput {
  const message = parseHl7(decodeHl7(raw).text);
  const chosen = mappingId
    ? registry.messages.find((m) => m.spec.id === mappingId || m.spec.id.endsWith(`/${mappingId}`))
    : selectMapping(registry, message);
  if (!chosen) throw new HubError('CLI_ARGUMENT_INVALID', `no message mapping "${mappingId}"`);
  return mapHl7Message(message, { sourceSystem, connectorId: 'mapping-test', receivedAt: new Date(0).toISOString() }, registry, {
    timeZone: config.site.timeZone, identifierSystemBase: config.site.identifierSystemBase, siteName: config.site.name,
  }, chosen);
}

/** FHIR input (a Bundle or one resource from an upstream server) through the same normalisation the pipeline applies. */
function fhirView(text: string, registry: MappingRegistry, config: HubConfig, sourceSystem: string): ReturnType<typeof goldenView> {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (err) {
    throw new HubError('FHIR_INPUT_INVALID', `not JSON: ${(err as Error).message}`);
  }
  const out = mapFhirInput(input, { sourceSystem }, fhirInputRules(registry), {
    timeZone: config.site.timeZone, identifierSystemBase: config.site.identifierSystemBase, siteName: config.site.name,
  });
  return { mapping: `${out.mappingId}@${out.mappingVersion}`, ...(out.eventTime ? { eventTime: out.eventTime } : {}), resources: out.resources.map((r) => r.resource) };
}

export async function runMappingLint(args: string[], config: HubConfig, io: Io = stdio): Promise<number> {
  const { options } = parseArgs(args);
  const { registry, problems, dir } = mappingsOf(options, config);
  if (problems.length) {
    for (const p of problems) io.err(p);
    io.err(`${problems.length} problem(s) in ${path.relative(process.cwd(), dir) || dir}`);
    return 1;
  }
  const total = registry.messages.length + registry.parts.size + registry.codemaps.size + registry.groups.size;
  io.out(`${total} mapping files OK (${registry.messages.length} messages, ${registry.groups.size} groups, ${registry.parts.size} parts, ${registry.codemaps.size} code maps)`);
  return 0;
}

export async function runMappingTest(args: string[], config: HubConfig, io: Io = stdio): Promise<number> {
  const { positional, options } = parseArgs(args);
  if (options['against-store']) return runAgainstStore(options, config, io);
  const target = positional[0];
  if (!target) throw new HubError('CLI_ARGUMENT_INVALID', `a message file or folder is required\n${USAGE}`);
  const { registry, problems } = mappingsOf(options, config);
  if (problems.length) {
    for (const p of problems) io.err(p);
    return 1;
  }
  const expectDir = option(options, 'expect');
  const sourceSystem = option(options, 'source-system') ?? 'HIS';
  const files = messageFiles(target);
  let failed = 0;
  const printed: unknown[] = [];
  for (const file of files) {
    const name = path.basename(file);
    let view: ReturnType<typeof goldenView>;
    try {
      view = /\.json$/i.test(file)
        ? fhirView(readFileSync(file, 'utf8'), registry, config, sourceSystem)
        : goldenView(mapRaw(readFileSync(file), registry, config, sourceSystem, option(options, 'mapping')));
    } catch (err) {
      io.err(`FAIL ${name}: ${toHubError(err).code}: ${toHubError(err).message}`);
      failed += 1;
      continue;
    }
    const violations = outputRuleViolations(view.resources);
    for (const v of violations) io.err(`FAIL ${name}: rule: ${v}`);
    let differs = false;
    if (expectDir) {
      const golden = path.join(expectDir, name.replace(/\.[^.]+$/, '.expected.json'));
      if (options.update) writeFileSync(golden, `${JSON.stringify(view, null, 2)}\n`);
      else if (!existsSync(golden)) {
        io.err(`FAIL ${name}: no golden file ${golden} (run with --update to create it, then review it)`);
        differs = true;
      } else {
        const expected = JSON.parse(readFileSync(golden, 'utf8')) as ReturnType<typeof goldenView>;
        const diffs = diffJson({ ...expected, resources: byReference(expected.resources) }, { ...view, resources: byReference(view.resources) });
        if (diffs.length) {
          io.err(`FAIL ${name}: ${diffs.length} difference(s) from ${golden}\n${formatDifferences(diffs)}`);
          differs = true;
        }
      }
      if (!differs && violations.length === 0) io.out(`ok   ${name} (${view.resources.length} resources)`);
    } else {
      printed.push(files.length === 1 ? view : { file: name, ...view });
    }
    if (differs || violations.length) failed += 1;
  }
  if (!expectDir) io.out(JSON.stringify(files.length === 1 ? printed[0] ?? null : printed, null, 2));
  if (files.length > 1 || expectDir) io.err(`${files.length - failed} of ${files.length} message(s) passed`);
  return failed ? 1 : 0;
}

/** Strips what the store adds on write, so a stored resource compares with a fresh mapping. */
function comparable(resource: Resource): Resource {
  const { meta, ...rest } = resource;
  if (!meta) return rest as Resource;
  const { versionId: _v, lastUpdated: _l, ...keptMeta } = meta;
  return { ...rest, meta: keptMeta } as Resource;
}

async function runAgainstStore(options: Record<string, string | true>, config: HubConfig, io: Io): Promise<number> {
  const { registry, problems } = mappingsOf(options, config);
  if (problems.length) {
    for (const p of problems) io.err(p);
    return 1;
  }
  const limit = Number(option(options, 'limit') ?? 1000);
  const show = Number(option(options, 'show') ?? 20);
  const mappingFilter = option(options, 'mapping');
  // with encryption on, the kept messages and the stored resources are opened with the key file
  const protection = await loadDataProtection(config.encryption);
  const mongo = await connectMongo(config.mongo.url, config.mongo.database);
  try {
    const filter: Record<string, unknown> = { status: 'processed', contentType: 'application/hl7-v2' };
    if (mappingFilter) filter.mappingId = { $regex: `${mappingFilter.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$` };
    const docs = await mongo.db.collection('source_messages').find(filter).sort({ processedAt: -1 }).limit(limit).toArray();
    // Newest message per resource is what the store holds; older ones would show stale diffs.
    const latest = new Map<string, Resource>();
    const changed = new Map<string, string>();
    let failures = 0;
    for (const doc of docs) {
      const raw = doc.rawSealed ? openBytes(protection, doc.raw, `source_messages/${String(doc._id)}`) : Buffer.from((doc.raw as { buffer: Uint8Array }).buffer);
      let out: MappingOutput;
      try {
        out = mapRaw(raw, registry, config, String(doc.sourceSystem), undefined);
      } catch (err) {
        failures += 1;
        io.err(`FAIL ${String(doc.controlId ?? doc._id)}: ${toHubError(err).message}`);
        continue;
      }
      // A write the store refused as stale is not what the store holds.
      const stale = new Set((doc.resources as Array<{ reference: string; outcome: string }> | undefined ?? []).filter((r) => r.outcome === 'stale').map((r) => r.reference));
      for (const r of out.resources) {
        const ref = `${r.resource.resourceType}/${r.resource.id}`;
        if (!latest.has(ref) && !stale.has(ref)) latest.set(ref, r.resource);
      }
    }
    let unchanged = 0;
    let added = 0;
    for (const [ref, fresh] of latest) {
      const [type, id] = ref.split('/') as [string, string];
      const stored = await mongo.db.collection<{ _id: string } & Partial<ResourceDocFields>>(type).findOne({ _id: id });
      if (!stored) {
        added += 1;
        changed.set(ref, '  (not in the store: the new mapping would create it)');
        continue;
      }
      const diffs = diffJson(comparable(openResourceDoc(type, id, stored, protection).resource as Resource), comparable(fresh));
      if (diffs.length === 0) unchanged += 1;
      else changed.set(ref, formatDifferences(diffs));
    }
    let shown = 0;
    for (const [ref, text] of changed) {
      if (shown >= show) break;
      io.out(`${ref}\n${text}`);
      shown += 1;
    }
    io.out(`${docs.length} source message(s) re-mapped: ${latest.size} resource(s), ${unchanged} unchanged, ${changed.size - added} would change, ${added} would be created${failures ? `, ${failures} message(s) failed to map` : ''}`);
    return changed.size || failures ? 1 : 0;
  } finally {
    await mongo.close();
  }
}

export const mappingCommand: Command = {
  name: 'mapping',
  summary: 'lint mapping files, test them on messages and golden files, diff against the store',
  usage: USAGE,
  async run(args) {
    const [sub, ...rest] = args;
    const config = loadConfig();
    if (sub === 'lint') return runMappingLint(rest, config);
    if (sub === 'test') return runMappingTest(rest, config);
    process.stderr.write(`${USAGE}\n`);
    return 2;
  },
};
