import { expect } from 'chai';
import { generateLabelledPatients } from '../../../bench/mpiDataGenerator.ts';
import { indexSources } from '../../../hub/mpi/batchIndexing.ts';
import { MongoResourceStore } from '../../../hub/store/mongoResourceStore.ts';
import type { StoredResource } from '../../../hub/store/resourceStore.ts';
import { MpiTestBed } from './mpiTestBed.ts';

/**
 * Batch indexing must give what indexing one record at a time gives: the same golden record for
 * every source (links), the same golden Patients, the same review queue. Generated people with
 * 1-4 source records each and the usual corruptions, so batches hold records of one person.
 */
describe('batch indexing of source Patients (real FerretDB)', function () {
  this.timeout(300_000);
  const records = [...generateLabelledPatients(160, 7)].map((r) => r.patient as StoredResource);
  const oneByOne = new MpiTestBed();
  const batched = new MpiTestBed();

  before(async () => {
    await oneByOne.start();
    await batched.start();
    // the same lastUpdated on both sides: "most recent" survivorship compares them
    for (const bed of [oneByOne, batched]) {
      let tick = Date.UTC(2026, 0, 1);
      await new MongoResourceStore(bed.db, { now: () => new Date((tick += 1000)) }).writeMany(records.map((resource) => ({ resource })));
    }
  });
  after(async () => {
    await oneByOne.stop();
    await batched.stop();
  });

  async function state(bed: MpiTestBed) {
    const golden: Record<string, string> = {};
    for (const r of records) golden[r.id] = (await bed.index.goldenOf(r.id)) ?? '(none)';
    const goldens = [...new Set(Object.values(golden))].sort();
    const content = await Promise.all(goldens.map(async (g) => {
      const { meta: _meta, ...rest } = (await bed.store.read('Patient', g)) ?? {};
      return rest;
    }));
    const reviews = (await bed.index.repo.listReviews({ status: 'OPEN', count: 10_000 })).items.map((i) => `${i.source}>${i.golden}`).sort();
    return { golden, content, reviews };
  }

  it('links, golden records and reviews equal indexing one record at a time', async () => {
    for (const r of records) await oneByOne.index.indexSource(r.id);
    const outcomes = [];
    for (let i = 0; i < records.length; i += 40) outcomes.push(...await indexSources(batched.index, records.slice(i, i + 40).map((r) => r.id)));
    expect(outcomes.map((o) => o.source)).to.deep.equal(records.map((r) => r.id));
    const [a, b] = [await state(oneByOne), await state(batched)];
    expect(new Set(Object.values(a.golden)).size, 'some records were merged').to.be.lessThan(records.length);
    expect(b.golden).to.deep.equal(a.golden);
    expect(b.content).to.deep.equal(a.content);
    expect(b.reviews).to.deep.equal(a.reviews);
  });

  it('answers unchanged for a batch seen before, and handles an updated linked source the long way', async () => {
    const again = await indexSources(batched.index, records.slice(0, 40).map((r) => r.id));
    expect(again.every((o) => o.action === 'unchanged')).to.equal(true);
    const changed = { ...records[0]!, maritalStatus: { text: 'Married' } } as StoredResource;
    await batched.store.write({ resource: changed });
    const [first, second] = await indexSources(batched.index, [records[0]!.id, records[1]!.id]);
    expect(first!.action).to.equal('updated');
    expect(second!.action).to.equal('unchanged');
  });
});
