import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Patient } from 'fhir/r4.js';
import type { BusProducer } from '../../../hub/bus/messageBus.ts';
import { CONTENT_TYPES, envelopeHeaders, type InboundEnvelope } from '../../../hub/core/inboundEnvelope.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { loadMappings } from '../../../hub/mapping/mappingLoader.ts';
import { DeadLetterPublisher } from '../../../hub/pipeline/deadLetter.ts';
import { fullResourceValidators } from '../../../hub/pipeline/fhirSchemaValidator.ts';
import { Hl7v2Normalizer, type NormalizedMessage } from '../../../hub/pipeline/hl7v2Normalizer.ts';
import { createRecordProcessor } from '../../../hub/pipeline/recordProcessor.ts';
import { connectMongo, type MongoConnection } from '../../../hub/store/mongoConnection.ts';
import { MongoResourceStore } from '../../../hub/store/mongoResourceStore.ts';
import { MongoSourceMessageLog } from '../../../hub/store/mongoSourceMessageLog.ts';
import { MONGO_URL, uniqueName } from '../../support/testServices.ts';

const ADT = path.join(PROJECT_ROOT, 'test', 'fixtures', 'mapping', 'adt');

/** Dead-lettering is not under test here: a message that would be dead-lettered fails the test. */
const refusingProducer: BusProducer = {
  inFlight: 0,
  publish: async (r) => { throw new Error(`unexpected dead letter: ${r.headers?.['hub-dlq-reason'] ?? ''}`); },
  close: async () => undefined,
};

describe('Patient directives reach the patient-index hook after the resources are stored (FerretDB)', function () {
  this.timeout(60_000);
  let mongo: MongoConnection;
  const seen: Array<{ result: NormalizedMessage; envelope: InboundEnvelope }> = [];
  let store: MongoResourceStore;
  let handle: ReturnType<typeof createRecordProcessor>;
  let offset = 0;

  before(async () => {
    mongo = await connectMongo(MONGO_URL, uniqueName('directives'));
    store = new MongoResourceStore(mongo.db);
    const registry = loadMappings(path.join(PROJECT_ROOT, 'mappings'));
    const normalizer = new Hl7v2Normalizer({
      store, registry: () => registry, validators: fullResourceValidators, limits: { maxSegments: 5000, maxResources: 2000 }, log: silentLogger(),
      settings: { timeZone: 'Asia/Shanghai', identifierSystemBase: 'urn:hub:identifier' },
    });
    handle = createRecordProcessor({
      normalizers: { [CONTENT_TYPES.hl7v2]: normalizer },
      store,
      messageLog: new MongoSourceMessageLog(mongo.db),
      deadLetter: new DeadLetterPublisher(refusingProducer, 'unused'),
      log: silentLogger(),
      onProcessed: async (result, envelope) => {
        // The hook runs after the store: the survivor must already be readable.
        if (result.directives?.[0]?.kind === 'merge') expect(await store.read('Patient', result.directives[0].survivor.split('/')[1]!)).to.not.equal(undefined);
        seen.push({ result, envelope });
      },
    });
  });

  after(async () => {
    await mongo?.db.dropDatabase().catch(() => undefined);
    await mongo?.close();
  });

  async function process(name: string): Promise<NormalizedMessage> {
    const text = readFileSync(path.join(ADT, name));
    const headers = envelopeHeaders({ connectorId: 'his-adt', sourceSystem: 'HIS', receivedAt: new Date().toISOString(), contentType: CONTENT_TYPES.hl7v2, raw: text });
    await handle({ topic: 'hl7v2.inbound', partition: 0, offset: offset++, value: text, headers }, { attempt: 1, final: false });
    return seen.at(-1)!.result;
  }

  it('A40 hands a merge directive to the hook and stores the surviving Patient', async () => {
    const result = await process('adt-a40-merge.hl7');
    expect(result.directives).to.have.length(1);
    const merge = result.directives![0]!;
    expect(merge).to.deep.include({ kind: 'merge', sourceSystem: 'HIS', controlId: 'RJ0040', survivor: result.patient });
    const survivor = (await store.read('Patient', result.patient!.split('/')[1]!)) as Patient;
    expect(survivor.identifier?.[0]?.value).to.equal('MRN200345');
  });

  it('A37 hands an unlink directive naming both stored records', async () => {
    const result = await process('adt-a37-unlink.hl7');
    const unlink = result.directives![0]!;
    expect(unlink.kind).to.equal('unlink');
    if (unlink.kind !== 'unlink') return;
    for (const ref of [unlink.patient, unlink.other]) expect(await store.read('Patient', ref.split('/')[1]!), ref).to.not.equal(undefined);
  });

  it('an admission hands no directive', async () => {
    expect((await process('adt-a01-admit.hl7')).directives).to.equal(undefined);
  });
});
