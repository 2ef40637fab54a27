import { expect } from 'chai';
import type { Request, Response, NextFunction } from 'express';
import type { AuditEvent, Bundle, CapabilityStatement, OperationOutcome, Patient } from 'fhir/r4.js';
import { auditEventFor } from '../../api/auditMiddleware.ts';
import type { PatientIndexReader } from '../../hub/mpi/patientIndexReader.ts';
import { MongoResourceStore } from '../../hub/store/mongoResourceStore.ts';
import type { StoredResource } from '../../hub/store/resourceStore.ts';
import { failureOf, fhirClient, type FhirClient } from '../support/fhirClient.ts';
import { ApiHarness } from './apiHarness.ts';

/** Every Patient is its own golden record but p-old, merged into p-a. */
class OneMergeIndex implements PatientIndexReader {
  async goldenOf(): Promise<string | undefined> { return undefined; }
  async sourcesOf(): Promise<string[]> { return []; }
  async isGolden(): Promise<boolean> { return false; }
  async survivorOf(id: string): Promise<string | undefined> { return id === 'p-old' ? 'p-a' : undefined; }
}

interface Written { key: string; id: string; versionId: number; lastUpdated: string }

const patient = (id: string, family: string): StoredResource => ({ resourceType: 'Patient', id, name: [{ family }] } as Patient & { id: string });

/** The order the API promises: newest first, then id, then the newer version. */
function newestFirst(a: Written, b: Written): number {
  if (a.lastUpdated !== b.lastUpdated) return a.lastUpdated < b.lastUpdated ? 1 : -1;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return b.versionId - a.versionId;
}

const keysOf = (b: Bundle): string[] => (b.entry ?? []).map((e) => `${e.resource!.id}/${e.resource!.meta!.versionId}`);
const linkOf = (b: Bundle, relation: string): string | undefined => b.link?.find((l) => l.relation === relation)?.url;

describe('type- and instance-level _history, paged, through HTTP (real FerretDB)', function () {
  this.timeout(30_000);
  const api = new ApiHarness();
  const audits: AuditEvent[] = [];
  const written: Written[] = [];
  let client: FhirClient;

  async function write(resource: StoredResource): Promise<void> {
    const r = await api.store.write({ resource });
    if (r.outcome !== 'unchanged') written.push({ key: `${resource.id}/${r.versionId}`, id: resource.id, versionId: Number(r.versionId), lastUpdated: r.lastUpdated });
    // distinct instants make _since cut-offs meaningful; equal ones are ordered by id and version
    await new Promise((resolve) => setTimeout(resolve, 3));
  }

  const patientVersions = (): Written[] => written.filter((w) => !w.id.startsWith('e-')).sort(newestFirst);

  async function pages(first: string): Promise<Bundle[]> {
    const out: Bundle[] = [await client.request(first) as unknown as Bundle];
    while (linkOf(out[out.length - 1]!, 'next')) out.push(await client.nextPage({ bundle: out[out.length - 1]! as never }) as unknown as Bundle);
    return out;
  }

  async function refusal(path: string): Promise<{ status: number; outcome: OperationOutcome }> {
    try {
      await client.request(path);
    } catch (err) {
      const { status, body } = failureOf(err);
      return { status, outcome: body as OperationOutcome };
    }
    throw new Error(`expected ${path} to be refused`);
  }

  before(async () => {
    await api.start({
      patients: new OneMergeIndex(),
      audit: (req: Request, res: Response, next: NextFunction) => { res.on('finish', () => audits.push(auditEventFor(req, res))); next(); },
    });
    for (const id of ['p-a', 'p-b', 'p-c', 'p-d', 'p-old']) await write(patient(id, `Family-${id}`));
    await write({ resourceType: 'Encounter', id: 'e-1', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'Patient/p-a' } } as never);
    await write(patient('p-c', 'Renamed-once'));
    await write(patient('p-a', 'Renamed'));
    await write(patient('p-c', 'Renamed-twice'));
    await write(patient('p-b', 'Renamed'));
    client = await fhirClient(api.base);
  });
  after(() => api.stop());

  it('lists every version of every resource of the type newest first, with request and response per entry', async () => {
    const bundle = await client.typeHistory({ resourceType: 'Patient' }) as unknown as Bundle;
    expect(bundle.type).to.equal('history');
    expect(keysOf(bundle)).to.deep.equal(patientVersions().map((w) => w.key));
    expect(bundle.total).to.equal(9);
    const updated = bundle.entry!.find((e) => e.resource!.id === 'p-c' && e.resource!.meta!.versionId === '3')!;
    expect(updated.request).to.deep.equal({ method: 'PUT', url: 'Patient/p-c' });
    expect(updated.response).to.include({ status: '200 OK', etag: 'W/"3"' });
    const created = bundle.entry!.find((e) => e.resource!.id === 'p-d')!;
    expect(created.request).to.deep.equal({ method: 'POST', url: 'Patient' });
    expect(created.fullUrl).to.equal(`${api.base}/Patient/p-d`);
  });

  it('keeps only versions stored at or after _since, at type and instance level', async () => {
    const cut = written.find((w) => w.key === 'p-c/2')!.lastUpdated;
    const since = encodeURIComponent(cut);
    const later = patientVersions().filter((w) => w.lastUpdated >= cut);
    expect(later.length).to.be.within(3, 8);
    const typeLevel = await client.request(`Patient/_history?_since=${since}`) as unknown as Bundle;
    expect(keysOf(typeLevel)).to.deep.equal(later.map((w) => w.key));
    const instance = await client.request(`Patient/p-c/_history?_since=${since}`) as unknown as Bundle;
    expect(keysOf(instance)).to.deep.equal(['p-c/3', 'p-c/2']);
    const none = await client.request(`Patient/p-d/_history?_since=${since}`) as unknown as Bundle;
    expect(none.entry ?? []).to.have.length(0);
  });

  it('pages the type history with _count and next links, without repeats or gaps', async () => {
    const walked = await pages('Patient/_history?_count=2');
    expect(walked).to.have.length(5);
    expect(walked.flatMap(keysOf)).to.deep.equal(patientVersions().map((w) => w.key));
    const second = walked[1]!;
    expect(linkOf(second, 'self')).to.equal(`${api.base}/Patient/_history?_count=2&_offset=2`);
    expect(linkOf(second, 'previous')).to.equal(`${api.base}/Patient/_history?_count=2&_offset=0`);
    expect(linkOf(walked[4]!, 'next')).to.equal(undefined);
    expect(walked[4]!.total, 'the last page knows the total without counting').to.equal(9);

    const sinceCut = encodeURIComponent(written[0]!.lastUpdated);
    const filtered = await pages(`Patient/_history?_since=${sinceCut}&_count=4`);
    expect(linkOf(filtered[0]!, 'next')).to.contain(`_since=${sinceCut}`);
    expect(filtered.flatMap(keysOf)).to.deep.equal(patientVersions().map((w) => w.key));
  });

  it('pages one resource\'s history newest first and answers 404 for an unknown one', async () => {
    const walked = await pages('Patient/p-c/_history?_count=1');
    expect(walked.map(keysOf)).to.deep.equal([['p-c/3'], ['p-c/2'], ['p-c/1']]);
    expect(linkOf(walked[1]!, 'next')).to.equal(`${api.base}/Patient/p-c/_history?_count=1&_offset=2`);
    const unpaged = await client.history({ resourceType: 'Patient', id: 'p-c' }) as unknown as Bundle;
    expect(unpaged.total).to.equal(3);
    const unknown = await refusal('Patient/nobody/_history');
    expect(unknown.status).to.equal(404);
  });

  it('answers 410 naming the survivor for the history of a merged-away Patient', async () => {
    const gone = await refusal('Patient/p-old/_history?_count=1');
    expect(gone.status).to.equal(410);
    expect(gone.outcome.issue[0]!.diagnostics).to.match(/merged into Patient\/p-a/);
  });

  it('orders versions stored at the same instant by id, then by newest version (10 before 9)', async () => {
    const sameInstant = new MongoResourceStore(api.db, () => new Date('2026-02-01T08:00:00.000Z'));
    const practitioner = (id: string, family: string): StoredResource => ({ resourceType: 'Practitioner', id, name: [{ family }] } as never);
    await sameInstant.write({ resource: practitioner('pr-b', 'B1') });
    for (let v = 1; v <= 10; v += 1) await sameInstant.write({ resource: practitioner('pr-c', `C${v}`) });
    await sameInstant.write({ resource: practitioner('pr-a', 'A1') });
    await sameInstant.write({ resource: practitioner('pr-b', 'B2') });
    const walked = await pages('Practitioner/_history?_count=5');
    const prC = Array.from({ length: 10 }, (_, i) => `pr-c/${10 - i}`);
    expect(walked.flatMap(keysOf)).to.deep.equal(['pr-a/1', 'pr-b/2', 'pr-b/1', ...prC]);
  });

  it('refuses unknown parameters, a bad _since and _at with 400 naming the parameter', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['Patient/_history?family=Renamed', 'family', /unknown _history parameter "family"/],
      ['Patient/p-c/_history?_sort=-_lastUpdated', '_sort', /unknown _history parameter "_sort"/],
      ['Patient/_history?_since=yesterday', '_since', /_since: "yesterday" is not a FHIR instant/],
      ['Patient/p-c/_history?_since=2026-01-31', '_since', /not a FHIR instant/],
      ['Patient/_history?_count=100000', '_count', /_count must be an integer from 0 to 1000/],
      ['Patient/_history?_at=2026-01-31T00:00:00Z', '_at', /_at is not supported/],
    ];
    for (const [path, parameter, diagnostics] of cases) {
      const { status, outcome } = await refusal(path);
      expect(status, path).to.equal(400);
      expect(outcome.resourceType).to.equal('OperationOutcome');
      expect(outcome.issue[0]!.diagnostics, path).to.match(diagnostics);
      expect(outcome.issue[0]!.expression, path).to.deep.equal([parameter]);
    }
  });

  it('records the Patients whose versions were disclosed in a history-type AuditEvent', async () => {
    await client.request('Patient/_history?_count=2');
    await new Promise((resolve) => setTimeout(resolve, 50)); // the event is built when the response finishes
    const event = [...audits].reverse().find((a) => a.entity?.some((e) => e.query && Buffer.from(e.query, 'base64').toString() === '_count=2'))!;
    expect(event.subtype?.map((c) => c.code)).to.deep.equal(['history-type']);
    const disclosed = event.entity!.filter((e) => e.what?.reference).map((e) => e.what!.reference).sort();
    expect(disclosed).to.deep.equal([...new Set(patientVersions().slice(0, 2).map((w) => `Patient/${w.id}`))].sort());
  });

  it('declares history-type and history-instance for the types that keep versions, and not for AuditEvent', async () => {
    const cs = await client.capabilityStatement() as unknown as CapabilityStatement;
    const codes = (type: string): string[] => cs.rest![0]!.resource!.find((r) => r.type === type)!.interaction!.map((i) => i.code);
    expect(codes('Patient')).to.include.members(['history-type', 'history-instance', 'vread']);
    expect(codes('Encounter')).to.include.members(['history-type', 'history-instance']);
    expect(codes('AuditEvent')).to.not.include('history-type');
    expect(codes('AuditEvent')).to.not.include('history-instance');
    const encounters = await client.typeHistory({ resourceType: 'Encounter' }) as unknown as Bundle;
    expect(keysOf(encounters)).to.deep.equal(['e-1/1']);
    expect((await refusal('AuditEvent/_history')).status).to.equal(400);
  });
});
