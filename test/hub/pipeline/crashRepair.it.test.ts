import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient, type Db } from 'mongodb';
import { adtA01 } from '../../../bench/hl7FeedGenerator.ts';
import { MONGO_URL, uniqueName } from '../../support/testServices.ts';
import { pipelineFor, recordOf } from './support/pipelineUnderTest.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Runs the pipeline on one message in a child process that is killed (SIGKILL) right after `killAfter` succeeds. */
function crashAfter(database: string, messageFile: string, killAfter: string): Promise<NodeJS.Signals | number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'support/crashingPipeline.ts'), MONGO_URL, database, messageFile, killAfter], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += String(d); });
    child.on('error', reject);
    child.on('exit', (code, signal) => (signal ? resolve(signal) : code === 0 || code === 3 ? resolve(code) : reject(new Error(`crashing pipeline exited ${code}: ${stderr.slice(-2000)}`))));
  });
}

/**
 * Without transactions, a message's write has parts (current documents, history copies, search
 * postings, the patient index, the source_messages entry). A process killed between them leaves
 * some undone; Kafka then delivers the message again, and that replay must complete every part,
 * even though the current documents it finds are already "unchanged".
 */
describe('a replay after a kill between the parts of a write completes them (real FerretDB)', function () {
  this.timeout(120_000);
  let client: MongoClient;
  const dir = mkdtempSync(path.join(tmpdir(), 'crash-'));
  const messageFile = path.join(dir, 'adt.hl7');
  writeFileSync(messageFile, adtA01(424_242));

  before(async () => {
    client = await new MongoClient(MONGO_URL).connect();
  });
  after(async () => client?.close());

  async function replayAndCheck(db: Db, database: string): Promise<void> {
    const { processor, store, index, close } = await pipelineFor(MONGO_URL, database);
    try {
      await processor(recordOf(Buffer.from(adtA01(424_242))), { attempt: 1, final: false });
      const encounter = (await db.collection('Encounter').find({}).toArray())[0]!;
      const patientId = (encounter.resource as { subject: { reference: string } }).subject.reference.split('/')[1]!;
      // history: version 1 readable
      expect(await store.readVersion('Encounter', encounter._id as unknown as string, '1'), 'Encounter/_history/1').to.not.equal(undefined);
      expect(await store.readVersion('Patient', patientId, '1'), 'Patient/_history/1').to.not.equal(undefined);
      // postings: the patient compartment and searches find it
      expect((await store.inPatientCompartment('Encounter', [`Patient/${patientId}`])).map((r) => r.id)).to.deep.equal([encounter._id]);
      const byMrn = await store.search('Patient', { criteria: [], where: [{ param: 'identifier', anyOf: [{ kind: 'entry', value: 'MRN00424242' }] }], total: true });
      expect(byMrn.resources.map((r) => r.id)).to.include(patientId); // and its golden record, which carries the MRN too
      // the patient index and the provenance entry
      expect(await index.goldenOf(patientId), 'golden record').to.be.a('string');
      const logged = await db.collection('source_messages').find({}).toArray();
      expect(logged.map((d) => d.status)).to.deep.equal(['processed']);
    } finally {
      await close();
    }
  }

  for (const killAfter of ['insert Encounter', 'insert Patient', 'insert Encounter_history', 'insert mpi_links']) {
    it(`after "${killAfter}"`, async () => {
      const database = uniqueName('crash');
      const db = client.db(database);
      try {
        expect(await crashAfter(database, messageFile, killAfter)).to.equal('SIGKILL');
        // the kill left the message unfinished: no provenance entry yet
        expect(await db.collection('source_messages').countDocuments({})).to.equal(0);
        await replayAndCheck(db, database);
      } finally {
        await db.dropDatabase().catch(() => undefined);
      }
    });
  }

  it('leaves an Encounter without its history copy when killed after its current document, which the replay restores', async () => {
    const database = uniqueName('crash');
    const db = client.db(database);
    try {
      expect(await crashAfter(database, messageFile, 'insert Encounter')).to.equal('SIGKILL');
      const encounter = (await db.collection('Encounter').find({}).toArray())[0]!;
      expect(await db.collection('Encounter_history').countDocuments({ _id: `${encounter._id}/1` as never }), 'history before the replay').to.equal(0);
      await replayAndCheck(db, database);
      expect(await db.collection('Encounter_history').countDocuments({ _id: `${encounter._id}/1` as never })).to.equal(1);
    } finally {
      await db.dropDatabase().catch(() => undefined);
    }
  });
});
