import { expect } from 'chai';
import type { Bundle, OperationOutcome } from 'fhir/r4.js';
import { failureOf, fhirClient, type FhirClient } from '../support/fhirClient.ts';
import { ApiHarness } from './apiHarness.ts';
import { ALL_FIXTURES } from './clinicalFixtures.ts';

const matchIds = (b: Bundle): string[] => (b.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource!.id!).sort();
const includeIds = (b: Bundle): string[] => (b.entry ?? []).filter((e) => e.search?.mode === 'include').map((e) => `${e.resource!.resourceType}/${e.resource!.id}`).sort();

describe('Clinical resource search, chains, _has and includes through HTTP (real FerretDB)', function () {
  this.timeout(30_000);
  const api = new ApiHarness();
  let client: FhirClient;

  before(async () => {
    await api.start();
    await api.seed(ALL_FIXTURES);
    client = await fhirClient(api.base);
  });
  after(() => api.stop());

  async function search(resourceType: string, searchParams: Record<string, string | string[]>): Promise<Bundle> {
    return (await client.search({ resourceType, searchParams })) as unknown as Bundle;
  }

  it('searches Encounter by patient, subject, status, class, type and date in UTC whatever the offset', async () => {
    expect(matchIds(await search('Encounter', { patient: 'p-zhang' }))).to.deep.equal(['e-zhang-1']);
    expect(matchIds(await search('Encounter', { subject: 'Patient/p-duck' }))).to.deep.equal(['e-duck-1']);
    expect(matchIds(await search('Encounter', { status: 'finished', class: 'IMP' }))).to.deep.equal(['e-muller-1', 'e-zhang-2']);
    expect(matchIds(await search('Encounter', { class: 'http://terminology.hl7.org/CodeSystem/v3-ActCode|AMB' }))).to.deep.equal(['e-duck-1']);
    expect(matchIds(await search('Encounter', { type: 'E', status: 'in-progress' }))).to.deep.equal(['e-zhang-1']);
    // eq: the searched range contains the whole period
    expect(matchIds(await search('Encounter', { date: '2026-02' }))).to.deep.equal(['e-duck-1']);
    expect(matchIds(await search('Encounter', { date: '2026-02-12' }))).to.deep.equal([]);
    // 09:30 at -08:00 is 17:30 UTC
    expect(matchIds(await search('Encounter', { date: 'le2026-02-10T17:30:00Z', patient: 'p-duck' }))).to.deep.equal(['e-duck-1']);
    expect(matchIds(await search('Encounter', { date: 'lt2026-02-10T17:30:00Z', patient: 'p-duck' }))).to.deep.equal([]);
    expect(matchIds(await search('Encounter', { date: ['ge2026-06-01', 'le2026-06-30'] }))).to.deep.equal(['e-muller-1']);
    // an open period reaches into the future
    expect(matchIds(await search('Encounter', { date: 'ge2030-01-01' }))).to.deep.equal(['e-zhang-1']);
  });

  it('searches Encounter by location, service-provider, participant, reason-code, diagnosis and discharge-disposition', async () => {
    expect(matchIds(await search('Encounter', { location: 'Location/cardiology' }))).to.deep.equal(['e-muller-1', 'e-zhang-1', 'e-zhang-2']);
    expect(matchIds(await search('Encounter', { 'service-provider': 'Organization/demo-hospital' }))).to.have.length(4);
    expect(matchIds(await search('Encounter', { participant: 'Practitioner/dr-li', location: 'orthopedics' }))).to.deep.equal(['e-duck-1']);
    expect(matchIds(await search('Encounter', { 'reason-code': 'http://snomed.info/sct|29857009' }))).to.deep.equal(['e-zhang-1']);
    expect(matchIds(await search('Encounter', { diagnosis: 'Condition/c-zhang-angina' }))).to.deep.equal(['e-zhang-1']);
    expect(matchIds(await search('Encounter', { 'discharge-disposition': 'snf' }))).to.deep.equal(['e-duck-1']);
    expect(matchIds(await search('Encounter', { 'discharge-disposition:missing': 'true' }))).to.deep.equal(['e-muller-1', 'e-zhang-1']);
    expect(matchIds(await search('Encounter', { 'status:not': 'finished' }))).to.deep.equal(['e-zhang-1']);
  });

  it('searches Observation by code, category, date and value-quantity with prefixes', async () => {
    expect(matchIds(await search('Observation', { code: 'http://loinc.org|718-7' }))).to.deep.equal(['o-duck-hb', 'o-zhang-hb']);
    expect(matchIds(await search('Observation', { category: 'laboratory', patient: 'p-muller' }))).to.deep.equal(['o-muller-glu']);
    expect(matchIds(await search('Observation', { code: '718-7', 'value-quantity': 'lt12' }))).to.deep.equal(['o-duck-hb']);
    expect(matchIds(await search('Observation', { 'value-quantity': 'ge7|http://unitsofmeasure.org|mmol/L' }))).to.deep.equal(['o-zhang-glu']);
    expect(matchIds(await search('Observation', { 'value-quantity': '13.2' }))).to.deep.equal(['o-zhang-hb']);
    expect(matchIds(await search('Observation', { date: 'ge2026-11-23T00:00:00+08:00' }))).to.deep.equal(['o-zhang-glu', 'o-zhang-hb']);
  });

  it('searches DiagnosticReport, ImagingStudy, ServiceRequest, Appointment, Condition and AllergyIntolerance', async () => {
    expect(matchIds(await search('DiagnosticReport', { patient: 'p-zhang-lis', code: '24317-0' }))).to.deep.equal(['dr-zhang-cbc']);
    expect(matchIds(await search('ImagingStudy', { patient: 'p-zhang', modality: 'DX' }))).to.deep.equal(['is-zhang-cxr']);
    expect(matchIds(await search('ServiceRequest', { code: '36643-5', authored: 'ge2026-11' }))).to.deep.equal(['sr-zhang-cxr']);
    expect(matchIds(await search('Appointment', { patient: 'p-duck', date: 'ge2026-12-01' }))).to.deep.equal(['ap-duck-followup']);
    expect(matchIds(await search('Appointment', { location: 'Location/orthopedics' }))).to.deep.equal(['ap-duck-followup']);
    expect(matchIds(await search('Condition', { patient: 'p-zhang', 'clinical-status': 'active' }))).to.deep.equal(['c-zhang-angina']);
    expect(matchIds(await search('AllergyIntolerance', { patient: 'p-duck', code: '7980' }))).to.deep.equal(['ai-duck-penicillin']);
  });

  it('follows chained parameters to the referenced Patient', async () => {
    expect(matchIds(await search('Encounter', { 'subject:Patient.name': 'duck' }))).to.deep.equal(['e-duck-1']);
    expect(matchIds(await search('Observation', { 'patient.birthdate': '1990-03-07', code: '2345-7' }))).to.deep.equal(['o-zhang-glu']);
    expect(matchIds(await search('Encounter', { 'patient.general-practitioner:Practitioner.name': 'weber' }))).to.deep.equal(['e-muller-1']);
  });

  it('_has selects Patients with an Encounter at a location in a date range (one Encounter meets both)', async () => {
    const b = await search('Patient', { '_has:Encounter:patient:location': 'Location/cardiology', '_has:Encounter:patient:date': ['ge2026-01-01', 'lt2027-01-01'] });
    expect(matchIds(b)).to.deep.equal(['p-muller', 'p-zhang']);
    // p-zhang-lis was in cardiology too, but in 2025
    expect(matchIds(await search('Patient', { '_has:Encounter:patient:location': 'cardiology', '_has:Encounter:patient:date': 'lt2026' }))).to.deep.equal(['p-zhang-lis']);
    expect(matchIds(await search('Patient', { '_has:Observation:patient:code': '718-7', gender: 'male' }))).to.deep.equal(['p-duck', 'p-zhang-lis']);
  });

  it('adds _include and _revinclude resources as include entries', async () => {
    const inc = await search('Encounter', { patient: 'p-duck', _include: ['Encounter:subject', 'Encounter:location'] });
    expect(matchIds(inc)).to.deep.equal(['e-duck-1']);
    expect(includeIds(inc)).to.deep.equal(['Location/orthopedics', 'Patient/p-duck']);
    const rev = await search('Patient', { _id: 'p-duck', _revinclude: ['Encounter:patient', 'AllergyIntolerance:patient'] });
    expect(includeIds(rev)).to.deep.equal(['AllergyIntolerance/ai-duck-penicillin', 'Encounter/e-duck-1']);
  });

  it('sorts, counts and pages with links a client can follow to the end', async () => {
    const first = await search('Patient', { _sort: '-birthdate', _count: '2' });
    expect(first.total).to.equal(5);
    expect(first.entry!.map((e) => e.resource!.id)).to.deep.equal(['p-duckling', 'p-zhang']);
    const seen = first.entry!.map((e) => e.resource!.id!);
    let page: Bundle | undefined = first;
    while ((page = (await client.nextPage({ bundle: page as never })) as unknown as Bundle | undefined)) {
      seen.push(...(page.entry ?? []).map((e) => e.resource!.id!));
      if (!page.link?.some((l) => l.relation === 'next')) break;
    }
    expect(seen).to.deep.equal(['p-duckling', 'p-zhang', 'p-zhang-lis', 'p-muller', 'p-duck']);
    const sorted = await search('Patient', { _sort: 'family,given', _total: 'none' });
    expect(sorted.total).to.equal(undefined);
    expect(sorted.entry!.map((e) => e.resource!.id)).to.deep.equal(['p-duck', 'p-duckling', 'p-muller', 'p-zhang', 'p-zhang-lis']);
    const prev = await client.prevPage({ bundle: (await search('Patient', { _count: '2', _offset: '2', _sort: 'birthdate' })) as never }) as unknown as Bundle;
    expect(prev.entry!.map((e) => e.resource!.id)).to.deep.equal(['p-duck', 'p-muller']);
  });

  it('answers _summary=count with the total only, and _elements with marked subsets', async () => {
    const count = await search('Encounter', { location: 'cardiology', _summary: 'count' });
    expect(count.total).to.equal(3);
    expect(count.entry ?? []).to.have.length(0);
    const slim = await search('Patient', { _id: 'p-duck', _elements: 'birthDate' });
    const p = slim.entry![0]!.resource as unknown as Record<string, unknown> & { meta: { tag: Array<{ code: string }> } };
    expect(Object.keys(p).sort()).to.deep.equal(['birthDate', 'id', 'meta', 'resourceType']);
    expect(p.meta.tag.map((t) => t.code)).to.include('SUBSETTED');
  });

  it('refuses chains on non-reference parameters, over-deep chains and unknown _include with 400', async () => {
    for (const [type, params, name] of [
      ['Encounter', { 'status.name': 'x' }, 'status.name'],
      ['Encounter', { 'patient.general-practitioner.organization.name': 'x' }, 'patient.general-practitioner.organization.name'],
      ['Encounter', { _include: 'Encounter:status' }, '_include'],
      ['Patient', { '_has:Encounter:nothing:status': 'x' }, '_has:Encounter:nothing:status'],
    ] as const) {
      try {
        await search(type, params as Record<string, string>);
        expect.fail(`expected 400 for ${name}`);
      } catch (err) {
        const { status, body } = failureOf(err);
        expect(status, name).to.equal(400);
        expect((body as OperationOutcome).issue[0]!.expression).to.deep.equal([name]);
      }
    }
  });
});
