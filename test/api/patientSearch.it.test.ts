import { expect } from 'chai';
import type { Bundle, OperationOutcome } from 'fhir/r4.js';
import { failureOf, fhirClient, type FhirClient } from '../support/fhirClient.ts';
import { ApiHarness } from './apiHarness.ts';
import { ALL_FIXTURES } from './clinicalFixtures.ts';

const ids = (b: Bundle): string[] => (b.entry ?? []).filter((e) => e.search?.mode !== 'include').map((e) => e.resource!.id!).sort();

describe('Patient search through HTTP with fhir-kit-client (real FerretDB)', function () {
  this.timeout(30_000);
  const api = new ApiHarness();
  let client: FhirClient;

  before(async () => {
    await api.start();
    await api.seed(ALL_FIXTURES);
    client = await fhirClient(api.base);
  });
  after(() => api.stop());

  async function search(searchParams: Record<string, string | string[]>): Promise<Bundle> {
    return (await client.search({ resourceType: 'Patient', searchParams })) as unknown as Bundle;
  }

  it('finds by identifier with system|value, and by bare value', async () => {
    expect(ids(await search({ identifier: 'urn:oid:2.16.840.1.113883.19.5|MRN100002' }))).to.deep.equal(['p-duck']);
    expect(ids(await search({ identifier: 'MRN100002' }))).to.deep.equal(['p-duck']);
    expect(ids(await search({ identifier: 'urn:other|MRN100002' }))).to.deep.equal([]);
  });

  it('matches name, family and given by case- and accent-insensitive prefix', async () => {
    expect(ids(await search({ name: 'duck' }))).to.deep.equal(['p-duck', 'p-duckling']);
    expect(ids(await search({ family: 'MULLER' }))).to.deep.equal(['p-muller']);
    expect(ids(await search({ given: 'don' }))).to.deep.equal(['p-duck']);
    expect(ids(await search({ 'family:exact': 'duck' }))).to.deep.equal(['p-duck']);
    expect(ids(await search({ 'name:contains': 'worth' }))).to.deep.equal(['p-duckling']);
    expect(ids(await search({ family: '张' }))).to.deep.equal(['p-zhang', 'p-zhang-lis']);
  });

  it('compares birthdate as a range with prefixes, whatever the stored precision', async () => {
    expect(ids(await search({ birthdate: '1990-03-07' }))).to.deep.equal(['p-zhang', 'p-zhang-lis']);
    expect(ids(await search({ birthdate: '1985' }))).to.deep.equal(['p-muller']);
    expect(ids(await search({ birthdate: 'ge2000-01-01' }))).to.deep.equal(['p-duckling']);
    expect(ids(await search({ birthdate: 'lt1960' }))).to.deep.equal(['p-duck']);
    expect(ids(await search({ birthdate: ['ge1980', 'le1989-12-31'] }))).to.deep.equal(['p-muller']);
  });

  it('filters by gender, phone, email, address-city and address-postalcode', async () => {
    expect(ids(await search({ gender: 'female' }))).to.deep.equal(['p-duckling', 'p-muller']);
    expect(ids(await search({ phone: '13800138000' }))).to.deep.equal(['p-zhang']);
    expect(ids(await search({ email: 'anna.mueller@example.de' }))).to.deep.equal(['p-muller']);
    expect(ids(await search({ 'address-city': 'fowl' }))).to.deep.equal(['p-duck', 'p-duckling']);
    expect(ids(await search({ 'address-postalcode': '200001' }))).to.deep.equal(['p-zhang']);
    expect(ids(await search({ gender: 'male', 'address-city': 'Fowl' }))).to.deep.equal(['p-duck']);
  });

  it('supports _id, _lastUpdated, general-practitioner and comma alternatives', async () => {
    expect(ids(await search({ _id: 'p-duck,p-muller' }))).to.deep.equal(['p-duck', 'p-muller']);
    expect(ids(await search({ _lastUpdated: `ge${new Date(Date.now() - 3_600_000).toISOString()}`, family: 'duck' }))).to.deep.equal(['p-duck', 'p-duckling']);
    expect(ids(await search({ _lastUpdated: 'lt2000-01-01' }))).to.deep.equal([]);
    expect(ids(await search({ 'general-practitioner': 'Practitioner/dr-weber' }))).to.deep.equal(['p-muller']);
    expect(ids(await search({ 'general-practitioner': 'dr-li' }))).to.deep.equal(['p-zhang']);
    expect(ids(await search({ gender: 'female,male', family: 'duck,müller' }))).to.deep.equal(['p-duck', 'p-duckling', 'p-muller']);
  });

  it('answers 400 with an OperationOutcome naming an unknown or malformed parameter', async () => {
    for (const [params, name] of [[{ colour: 'blue' }, 'colour'], [{ birthdate: 'yesterday' }, 'birthdate'], [{ _count: '5000' }, '_count'], [{ 'gender:fuzzy': 'x' }, 'gender:fuzzy']] as const) {
      try {
        await search(params as Record<string, string>);
        expect.fail(`expected 400 for ${name}`);
      } catch (err) {
        const { status, body } = failureOf(err);
        expect(status).to.equal(400);
        expect((body as OperationOutcome).resourceType).to.equal('OperationOutcome');
        expect((body as OperationOutcome).issue[0]!.expression).to.deep.equal([name]);
      }
    }
  });
});
