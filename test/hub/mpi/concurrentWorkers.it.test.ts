import { expect } from 'chai';
import type { Patient } from 'fhir/r4.js';
import type { PatientIndex } from '../../../hub/mpi/patientIndex.ts';
import { MpiTestBed } from './mpiTestBed.ts';
import { patient } from './patientFixtures.ts';

/**
 * Several patient-index workers on one database, fed overlapping records at the same time (as
 * several hub pipeline consumers would be): every person must end with exactly one golden
 * Patient holding all of their records, and no golden record may miss a linked source.
 */
describe('patient index with concurrent workers on FerretDB', function () {
  // ~20 s on a quiet 2-core machine; the 96 overlapping operations serialise on shared blocking
  // keys, so a busy machine stretches them several-fold.
  this.timeout(300_000);
  const bed = new MpiTestBed();
  let workers: PatientIndex[] = [];
  before(async () => {
    await bed.start();
    workers = [bed.index, ...(await Promise.all([bed.newIndex(), bed.newIndex(), bed.newIndex()]))];
  });
  after(() => bed.stop());

  const people = 8;
  const sourcesPerPerson = ['HIS', 'LIS', 'PACS'];
  function recordOf(person: number, source: string) {
    const first17 = `1101011980010${String(100 + person).slice(-3)}1`;
    return patient({
      id: `${source.toLowerCase()}-${person}`, family: 'Chen', given: `Person${String.fromCharCode(65 + person)}x`,
      birthDate: `1980-01-${String(person + 1).padStart(2, '0')}`, gender: 'female', phone: `1380000${String(1000 + person)}`,
      nationalId: first17 + checkChar(first17), source,
    });
  }

  it('gives each person exactly one golden Patient with all their records, with no lost update', async () => {
    const records: Array<ReturnType<typeof recordOf>> = [];
    for (let p = 0; p < people; p += 1) for (const s of sourcesPerPerson) records.push(recordOf(p, s));
    for (const r of records) await bed.store.write({ resource: r });
    // every worker indexes every record, in a different order, all at once
    await Promise.all(workers.map(async (w, i) => {
      const order = [...records].sort((a, b) => ((a.id.charCodeAt(a.id.length - 1) * (i + 3)) % 7) - ((b.id.charCodeAt(b.id.length - 1) * (i + 3)) % 7));
      await Promise.all(order.map((r) => w.indexSource(r.id)));
    }));

    const goldens = await bed.db.collection('Patient').find({ 'resource.meta.tag.code': 'GOLDEN_RECORD' }).toArray();
    expect(goldens).to.have.length(people);
    for (let p = 0; p < people; p += 1) {
      const ids = sourcesPerPerson.map((s) => `${s.toLowerCase()}-${p}`);
      const g = await bed.index.goldenOf(ids[0]!);
      for (const id of ids) expect(await bed.index.goldenOf(id), id).to.equal(g);
      const golden = await bed.store.read('Patient', g!) as Patient;
      expect(golden.link!.map((l) => l.other.reference).sort()).to.deep.equal(ids.map((id) => `Patient/${id}`).sort());
    }
    expect(await bed.db.collection('mpi_leases').countDocuments({})).to.equal(0);
  });

  it('lets two workers merge and index at once without losing a link', async () => {
    const a = await bed.index.goldenOf('his-0');
    const b = await bed.index.goldenOf('his-1');
    const { mergeGoldens } = await import('../../../hub/mpi/patientMerges.ts');
    const late = recordOf(1, 'OTHER');
    await bed.store.write({ resource: late });
    await Promise.all([mergeGoldens(workers[0]!, b!, a!, 'clerk', 'test'), workers[1]!.indexSource(late.id)]);
    const g = await bed.index.goldenOf(late.id);
    expect(g).to.equal(a);
    const golden = await bed.store.read('Patient', a!) as Patient;
    expect(golden.link!.filter((l) => l.type === 'seealso')).to.have.length(7);
  });
});

function checkChar(first17: string): string {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let s = 0;
  for (let i = 0; i < 17; i += 1) s += Number(first17[i]) * w[i]!;
  return '10X98765432'[s % 11]!;
}
