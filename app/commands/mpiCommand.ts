import path from 'node:path';
import { loadConfig } from '../../hub/config/loadConfig.ts';
import { HubError } from '../../hub/core/hubError.ts';
import { loadDataProtection } from '../../hub/crypto/dataProtection.ts';
import { silentLogger } from '../../hub/core/logger.ts';
import { applyRematch, planRematch, type Progress, type RematchPlan } from '../../hub/mpi/batchRematch.ts';
import { createPatientIndex } from '../../hub/mpi/createPatientIndex.ts';
import { loadMatchRules } from '../../hub/mpi/matchRules.ts';
import type { ReviewStatus } from '../../hub/mpi/mpiRecords.ts';
import { mergeGoldens, unmerge } from '../../hub/mpi/patientMerges.ts';
import type { PatientIndex } from '../../hub/mpi/patientIndex.ts';
import { acceptReview, listReview, rejectReview } from '../../hub/mpi/reviewQueue.ts';
import { connectMongo } from '../../hub/store/mongoConnection.ts';
import { MongoResourceStore } from '../../hub/store/mongoResourceStore.ts';
import { parseArgs, type Command } from './command.ts';

const USAGE = `usage:
  hub mpi dry-run --rules FILE [--limit N] [--json]   links a changed rules file would add/remove; changes nothing
  hub mpi rematch [--rules FILE]                      re-match the whole store (manual decisions are kept)
  hub mpi review [--status open|accepted|rejected|resolved] [--limit N] [--offset N] [--json]
  hub mpi review accept ITEM_ID [--reason TEXT]
  hub mpi review reject ITEM_ID --reason TEXT
  hub mpi merge FROM_PATIENT INTO_PATIENT [--reason TEXT]
  hub mpi unmerge MERGE_ID|MERGED_GOLDEN_ID [--reason TEXT]
options: --user NAME (who is recorded in the audit; default $USER)`;

export interface MpiCommandDeps {
  index: PatientIndex;
  out: (text: string) => void;
  /** progress of long jobs (a bar on a terminal) */
  progress: Progress;
}

/** A progress bar that redraws in place on a terminal and prints every 10% elsewhere. */
export function progressBar(write: (text: string) => void, tty: boolean): Progress {
  let last = '';
  return (phase, done, total) => {
    const pct = total ? Math.floor((done / total) * 100) : 100;
    const bar = `${phase.padEnd(6)} [${'#'.repeat(Math.floor(pct / 5)).padEnd(20, '.')}] ${String(pct).padStart(3)}% ${done}/${total}`;
    if (tty) write(`\r${bar}${done >= total ? '\n' : ''}`);
    else {
      const step = `${phase}:${Math.floor(pct / 10)}`;
      if (step !== last) { last = step; write(`${bar}\n`); }
    }
  };
}

function summary(plan: RematchPlan, limit: number): string[] {
  const lines = [
    `${plan.sources} source records, ${plan.comparisons} candidate pairs compared, ${plan.clusters} persons`,
    `links that would appear: ${plan.appearCount}`,
    ...plan.appear.slice(0, limit).map((p) => `  + Patient/${p.a} ~ Patient/${p.b}`),
    `links that would disappear: ${plan.disappearCount}`,
    ...plan.disappear.slice(0, limit).map((p) => `  - Patient/${p.a} ~ Patient/${p.b}`),
    `source records that would change golden Patient: ${plan.moves.length}; possible matches for review: ${plan.reviews.length}`,
  ];
  return lines;
}

function str(options: Record<string, string | true>, key: string): string | undefined {
  const v = options[key];
  if (v === true) throw new HubError('CLI_ARGUMENT_INVALID', `--${key} needs a value`);
  return v;
}

export async function runMpi(argv: string[], deps: MpiCommandDeps): Promise<number> {
  const { positional, options } = parseArgs(argv);
  const [action, sub, ...rest] = positional;
  const who = str(options, 'user') ?? process.env.USER ?? 'cli';
  const reason = str(options, 'reason');
  const limit = Number(str(options, 'limit') ?? 20);
  const { index, out } = deps;

  if (action === 'dry-run' || action === 'rematch') {
    const file = str(options, 'rules');
    if (action === 'dry-run' && !file) throw new HubError('CLI_ARGUMENT_INVALID', 'dry-run needs --rules FILE (the changed rules to try)');
    const rules = file ? loadMatchRules(path.resolve(file)) : index.rules;
    const plan = await planRematch(index, rules, deps.progress);
    if (action === 'dry-run') {
      if (options.json) out(JSON.stringify(plan));
      else for (const l of summary(plan, limit)) out(l);
      out('dry run: nothing was changed');
      return 0;
    }
    for (const l of summary(plan, limit)) out(l);
    const r = await applyRematch(index, plan, rules, who, deps.progress);
    out(`re-match applied: ${r.moved} link(s) moved, ${r.retired} golden Patient(s) retired, ${r.reviews} possible match(es) queued`);
    return 0;
  }
  if (action === 'review') {
    if (sub === 'accept' || sub === 'reject') {
      const id = rest[0];
      if (!id) throw new HubError('CLI_ARGUMENT_INVALID', `review ${sub} needs the item id`);
      if (sub === 'accept') {
        const r = await acceptReview(index, id, who, reason);
        out(r ? `accepted ${id}: merged Patient/${r.from} into Patient/${r.into} (merge ${r.mergeId})` : `accepted ${id}: already one golden Patient`);
      } else {
        await rejectReview(index, id, who, reason ?? '');
        out(`rejected ${id}: recorded as NO_MATCH`);
      }
      return 0;
    }
    if (sub && sub !== 'list') { out(USAGE); return 2; }
    const status = (str(options, 'status') ?? 'open').toUpperCase() as ReviewStatus;
    const { items, total } = await listReview(index, { status, count: limit, offset: Number(str(options, 'offset') ?? 0) });
    for (const item of items) {
      if (options.json) { out(JSON.stringify(item)); continue; }
      const fields = item.fields.filter((f) => f.level).map((f) => `${f.field}=${f.level}(${f.weight >= 0 ? '+' : ''}${f.weight.toFixed(1)})`).join(' ');
      out(`${item._id}  score ${item.score.toFixed(1)} [review ${item.thresholds.review}, auto ${item.thresholds.autoMerge}]  Patient/${item.source} -> Patient/${item.golden}  ${fields}`);
    }
    if (!options.json) out(`${total} ${status.toLowerCase()} review item(s)${total > items.length ? ` (${items.length} shown)` : ''}`);
    return 0;
  }
  if (action === 'merge') {
    const into = rest[0];
    if (!sub || !into) throw new HubError('CLI_ARGUMENT_INVALID', 'merge needs FROM_PATIENT and INTO_PATIENT');
    const r = await mergeGoldens(index, sub, into, who, reason ?? 'manual merge (CLI)');
    out(`merged golden Patient/${r.from} into Patient/${r.into}: ${r.moved.length} source record(s) moved; undo with: hub mpi unmerge ${r.mergeId}`);
    return 0;
  }
  if (action === 'unmerge') {
    if (!sub) throw new HubError('CLI_ARGUMENT_INVALID', 'unmerge needs a merge id or the merged-away golden Patient id');
    const r = await unmerge(index, sub, who, reason ?? 'manual unmerge (CLI)');
    out(`undid merge ${r.mergeId}: Patient/${r.from} restored with ${r.restored.filter(Boolean).length} link(s); ${r.rematched.length} later record(s) matched again`);
    return 0;
  }
  out(USAGE);
  return 2;
}

export const mpiCommand: Command = {
  name: 'mpi',
  summary: 'master patient index: rule dry-run, re-match, review queue, merge and unmerge',
  usage: USAGE,
  async run(argv) {
    const config = loadConfig();
    const mongo = await connectMongo(config.mongo.url, config.mongo.database);
    try {
      const protection = await loadDataProtection(config.encryption);
      const index = await createPatientIndex({
        db: mongo.db, store: new MongoResourceStore(mongo.db, protection ? { protection } : {}), log: silentLogger(),
        rulesFile: config.mpi.rulesFile, ...(protection ? { protection } : {}),
      });
      return await runMpi(argv, {
        index, out: (text) => process.stdout.write(`${text}\n`),
        progress: progressBar((t) => process.stderr.write(t), process.stderr.isTTY === true),
      });
    } finally {
      await mongo.close();
    }
  },
};
