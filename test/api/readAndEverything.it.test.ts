import { expect } from 'chai';
import type { Bundle, CapabilityStatement, OperationOutcome, Patient } from 'fhir/r4.js';
import { failureOf, fhirClient, type FhirClient } from '../support/fhirClient.ts';
import { ApiHarness } from './apiHarness.ts';
import { ALL_FIXTURES, FixedPatientIndex, GOLDEN_ZHANG } from './clinicalFixtures.ts';



describe('read, vread, _history, $everything and errors through HTTP (real FerretDB)', function () {
  this.timeout(30_000);
  const api = new ApiHarness();
  let client: FhirClient;

  before(async () => {
    await api.start({ patients: new FixedPatientIndex() });
    await api.seed([...ALL_FIXTURES, GOLDEN_ZHANG]);
    await api.store.write({ resource: { ...ALL_FIXTURES[1]!, active: false } as never });
    client = await fhirClient(api.base);
  });
  after(() => api.stop());

  it('reads the current version with a weak ETag and answers If-None-Match with 304', async () => {
    const res = await fetch(`${api.base}/Patient/p-duck`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^application\/fhir\+json/);
    expect(res.headers.get('etag')).to.equal('W/"2"');
    expect(((await res.json()) as Patient).active).to.equal(false);
    expect((await fetch(`${api.base}/Patient/p-duck`, { headers: { 'if-none-match': 'W/"2"' } })).status).to.equal(304);
    expect((await fetch(`${api.base}/Patient/p-duck`, { headers: { 'if-none-match': 'W/"1"' } })).status).to.equal(200);
  });

  it('vreads an older version and lists the history newest first', async () => {
    const v1 = await client.vread({ resourceType: 'Patient', id: 'p-duck', version: '1' }) as Patient;
    expect(v1.active).to.equal(undefined);
    expect(v1.meta?.versionId).to.equal('1');
    const history = await client.history({ resourceType: 'Patient', id: 'p-duck' }) as unknown as Bundle;
    expect(history.type).to.equal('history');
    expect(history.entry!.map((e) => e.resource!.meta!.versionId)).to.deep.equal(['2', '1']);
  });

  it('honours _format, application/fhir+json, _summary and _elements on a read', async () => {
    const plain = await fetch(`${api.base}/Patient/p-duck?_format=json`);
    expect(plain.headers.get('content-type')).to.match(/^application\/json/);
    expect((await fetch(`${api.base}/Patient/p-duck?_format=xml`)).status).to.equal(406);
    expect((await fetch(`${api.base}/Patient/p-duck`, { headers: { accept: 'application/fhir+xml' } })).status).to.equal(406);
    const summary = await (await fetch(`${api.base}/Patient/p-zhang?_summary=true`)).json() as Record<string, unknown>;
    expect(summary).to.include.keys('name', 'birthDate', 'identifier');
    expect(summary).to.not.have.key('text');
    const elements = await (await fetch(`${api.base}/Patient/p-zhang?_elements=gender`)).json() as Record<string, unknown>;
    expect(Object.keys(elements).sort()).to.deep.equal(['gender', 'id', 'meta', 'resourceType']);
  });

  it('answers 404, 410 naming the survivor, and 400 as OperationOutcome', async () => {
    const cases: Array<[() => Promise<unknown>, number, RegExp]> = [
      [() => client.read({ resourceType: 'Patient', id: 'nobody' }), 404, /Patient\/nobody is not known/],
      [() => client.vread({ resourceType: 'Patient', id: 'p-duck', version: '9' }), 404, /no version 9/],
      [() => client.read({ resourceType: 'Patient', id: 'g-old' }), 410, /merged into Patient\/g-zhang/],
      [() => client.read({ resourceType: 'Patient', id: 'bad id!' }), 400, /not a valid id/],
    ];
    for (const [call, wanted, diagnostics] of cases) {
      try {
        await call();
        expect.fail(`expected ${wanted}`);
      } catch (err) {
        const { status, body } = failureOf(err);
        expect(status).to.equal(wanted);
        expect((body as OperationOutcome).resourceType).to.equal('OperationOutcome');
        expect((body as OperationOutcome).issue[0]!.diagnostics).to.match(diagnostics);
      }
    }
    const gone = await fetch(`${api.base}/Patient/g-old`);
    expect(gone.headers.get('location')).to.equal(`${api.base}/Patient/g-zhang`);
  });

  it('widens patient= on a golden id to everything its source Patients have', async () => {
    const b = await client.search({ resourceType: 'Encounter', searchParams: { patient: 'g-zhang' } }) as unknown as Bundle;
    expect(b.entry!.map((e) => e.resource!.id).sort()).to.deep.equal(['e-zhang-1', 'e-zhang-2']);
  });

  it('$everything returns the golden Patient, its sources and all their records, paged', async () => {
    const all = await client.operation({ resourceType: 'Patient', id: 'g-zhang', name: '$everything', method: 'GET' }) as unknown as Bundle;
    const keys = all.entry!.map((e) => `${e.resource!.resourceType}/${e.resource!.id}`);
    expect(keys.slice(0, 3).sort()).to.deep.equal(['Patient/g-zhang', 'Patient/p-zhang', 'Patient/p-zhang-lis']);
    expect(keys.slice(3).sort()).to.deep.equal([
      'Condition/c-zhang-angina', 'DiagnosticReport/dr-zhang-cbc', 'Encounter/e-zhang-1', 'Encounter/e-zhang-2',
      'ImagingStudy/is-zhang-cxr', 'Observation/o-zhang-glu', 'Observation/o-zhang-hb', 'ServiceRequest/sr-zhang-cxr',
    ]);
    expect(all.total).to.equal(11);
    expect(keys).to.not.include('Encounter/e-duck-1');

    const paged: string[] = [];
    let page = await client.operation({ resourceType: 'Patient', id: 'g-zhang', name: '$everything', method: 'GET', input: { _count: 4 } }) as unknown as Bundle | undefined;
    while (page) {
      paged.push(...(page.entry ?? []).map((e) => `${e.resource!.resourceType}/${e.resource!.id}`));
      page = page.link?.some((l) => l.relation === 'next') ? await client.nextPage({ bundle: page as never }) as unknown as Bundle : undefined;
    }
    expect(paged).to.deep.equal(keys);

    const labs = await client.operation({ resourceType: 'Patient', id: 'g-zhang', name: '$everything', method: 'GET', input: { _type: 'Observation' } }) as unknown as Bundle;
    expect(labs.entry!.map((e) => e.resource!.id).sort()).to.deep.equal(['o-zhang-glu', 'o-zhang-hb']);
  });

  it('serves a CapabilityStatement listing exactly the search parameters it answers', async () => {
    const cs = await client.capabilityStatement() as unknown as CapabilityStatement;
    const encounter = cs.rest![0]!.resource!.find((r) => r.type === 'Encounter')!;
    const names = encounter.searchParam!.map((p) => p.name);
    expect(names).to.include.members(['patient', 'date', 'location', 'discharge-disposition', 'reason-code', '_lastUpdated']);
    for (const name of names) {
      const res = await fetch(`${api.base}/Encounter?${name}:missing=false&_summary=count`);
      expect(res.status, name).to.equal(200);
    }
    const patient = cs.rest![0]!.resource!.find((r) => r.type === 'Patient')!;
    expect(patient.operation!.map((o) => o.name)).to.include('everything');
    expect(patient.searchRevInclude).to.include('Encounter:patient');
  });
});
