import path from 'node:path';
import { MongoClient, type MongoClientOptions } from 'mongodb';
import type { ConsumedRecord, RecordHandler } from '../../../../hub/bus/messageBus.ts';
import { CONTENT_TYPES, envelopeHeaders } from '../../../../hub/core/inboundEnvelope.ts';
import { silentLogger } from '../../../../hub/core/logger.ts';
import { PROJECT_ROOT } from '../../../../hub/core/schemaValidator.ts';
import { loadMappings } from '../../../../hub/mapping/mappingLoader.ts';
import { createPatientIndex } from '../../../../hub/mpi/createPatientIndex.ts';
import type { PatientIndex } from '../../../../hub/mpi/patientIndex.ts';
import { patientIndexHook } from '../../../../hub/mpi/patientIndexHook.ts';
import { DeadLetterPublisher } from '../../../../hub/pipeline/deadLetter.ts';
import { fullResourceValidators } from '../../../../hub/pipeline/fhirSchemaValidator.ts';
import { Hl7v2Normalizer } from '../../../../hub/pipeline/hl7v2Normalizer.ts';
import { createRecordProcessor } from '../../../../hub/pipeline/recordProcessor.ts';
import { MongoResourceStore } from '../../../../hub/store/mongoResourceStore.ts';
import { MongoSourceMessageLog } from '../../../../hub/store/mongoSourceMessageLog.ts';

/** The record processor as the hub wires it (store, source messages, patient index), on one database, without Kafka. */
export async function pipelineFor(mongoUrl: string, database: string, options: MongoClientOptions = {}): Promise<{
  processor: RecordHandler; store: MongoResourceStore; index: PatientIndex; client: MongoClient; close: () => Promise<void>;
}> {
  const client = await new MongoClient(mongoUrl, options).connect();
  const db = client.db(database);
  const log = silentLogger();
  const store = new MongoResourceStore(db);
  const registry = loadMappings(path.join(PROJECT_ROOT, 'mappings'));
  const normalizer = new Hl7v2Normalizer({
    store, registry: () => registry, validators: fullResourceValidators, limits: { maxSegments: 5000, maxResources: 2000 }, log,
    settings: { timeZone: 'Asia/Shanghai', identifierSystemBase: 'urn:hub:identifier' },
  });
  const index = await createPatientIndex({ db, store, log });
  const refusing = { publish: () => Promise.reject(new Error('no dead letters expected')), inFlight: 0, close: async () => undefined };
  const processor = createRecordProcessor({
    normalizers: { [CONTENT_TYPES.hl7v2]: normalizer }, store, messageLog: new MongoSourceMessageLog(db, store),
    deadLetter: new DeadLetterPublisher(refusing, 'unused'), log, onProcessed: patientIndexHook(index),
  });
  return { processor, store, index, client, close: () => client.close() };
}

/** The message as the MLLP connector would have put it on the inbound topic (same partition and offset on every delivery). */
export function recordOf(raw: Buffer): ConsumedRecord {
  const headers = envelopeHeaders({
    connectorId: 'his-adt', sourceSystem: 'HIS', receivedAt: '2026-11-30T08:00:00.000Z', contentType: CONTENT_TYPES.hl7v2,
    messageType: 'ADT^A01', controlId: 'CRASH-1', raw,
  });
  return { topic: 'hub.hl7v2.inbound', partition: 0, offset: 42, value: raw, headers, key: 'MRN-CRASH' };
}
