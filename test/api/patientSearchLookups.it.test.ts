import { expect } from 'chai';
import type { Bundle } from 'fhir/r4.js';
import { MongoResourceStore } from '../../hub/store/mongoResourceStore.ts';
import type { StoredResource } from '../../hub/store/resourceStore.ts';
import { ApiHarness } from './apiHarness.ts';

const FAMILIES = ['Wang', 'Wangler', 'Li', 'Lin', 'Müller'];

const patients: StoredResource[] = Array.from({ length: 25 }, (_, i) => ({
  resourceType: 'Patient', id: `lp${String(i).padStart(2, '0')}`,
  identifier: [{ system: 'urn:mrn', value: `MRN${i % 7}` }],
  name: [{ family: FAMILIES[i % FAMILIES.length]!, given: [i % 2 ? 'Wei' : 'Anna'] }],
  birthDate: `198${i % 3}-0${1 + (i % 4)}-1${i % 5}`, gender: i % 3 ? 'male' : 'female',
} as StoredResource));

/** What a client sees of a page: the matches, the total and where the next page is. */
function seen(b: Bundle): { ids: string[]; total?: number; next?: string } {
  const next = b.link?.find((l) => l.relation === 'next')?.url;
  return {
    ids: (b.entry ?? []).map((e) => e.resource!.id!),
    ...(b.total !== undefined ? { total: b.total } : {}),
    ...(next ? { next: next.slice(next.indexOf('?')) } : {}),
  };
}

describe('Patient search from lookup lists answers as the query path does, over HTTP (real FerretDB)', function () {
  this.timeout(180_000);
  const lookups = new ApiHarness();
  const queries = new ApiHarness();

  before(async () => {
    await lookups.start();
    await queries.start();
    await lookups.seed(patients);
    // written by another store instance, so the API's own never remembers the lists as complete
    const writer = new MongoResourceStore(queries.db);
    for (const p of patients) await writer.write({ resource: p });
    await queries.db.collection('search_lookups').deleteMany({});
  });
  after(async () => {
    await lookups.stop();
    await queries.stop();
  });

  for (const q of [
    'family=wang&_count=3', 'family=wang&_count=3&_offset=3', 'name=li&_count=4&_sort=-birthdate', 'family=Müller&gender=male',
    'identifier=MRN3&_count=2', 'identifier=urn:mrn|MRN3,MRN4', 'given=wei&birthdate=1981', 'family=wang&_summary=count', 'family=wangler&_total=none',
  ]) {
    it(`pages, totals and next links agree: ${q}`, async () => {
      const get = async (h: ApiHarness): Promise<Bundle> => (await fetch(`${h.base}/Patient?${q}`)).json() as Promise<Bundle>;
      const [fast, slow] = await Promise.all([get(lookups), get(queries)]);
      expect(seen(fast)).to.deep.equal(seen(slow));
      expect(seen(fast).ids.length + (seen(fast).total ?? 0)).to.be.greaterThan(0);
    });
  }
});
