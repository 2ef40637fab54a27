import type { Server } from 'node:http';
import path from 'node:path';
import { apiSecurity, type ApiSecurity } from '../api/apiSecurity.ts';
import { listenApi } from '../api/apiServer.ts';
import { createFhirApp } from '../api/fhirApp.ts';
import { PATIENT_INDEX_OPERATIONS, patientIndexRoutes } from '../api/patientIndexRoutes.ts';
import type { Connector, SupportCheck } from '../connectors/connector.ts';
import { createConnector, validateConnectors } from '../connectors/connectorRegistry.ts';
import { KafkaProducer, KafkaRecordConsumer, KafkaTopicAdmin } from '../hub/bus/kafkaBus.ts';
import { kafkaSecurityProperties } from '../hub/bus/kafkaSecurity.ts';
import type { BusProducer, ConsumedRecord } from '../hub/bus/messageBus.ts';
import { apiBaseUrl } from '../hub/config/loadConfig.ts';
import type { HubConfig } from '../hub/config/hubConfig.ts';
import { CONTENT_TYPES } from '../hub/core/inboundEnvelope.ts';
import { loadDataProtection, type DataProtection } from '../hub/crypto/dataProtection.ts';
import { openingBatchHandler, openingHandler, recordOpener, SealingProducer } from '../hub/crypto/recordSealing.ts';
import type { Logger } from '../hub/core/logger.ts';
import { PROJECT_ROOT } from '../hub/core/schemaValidator.ts';
import { isHubError, type HubError } from '../hub/core/hubError.ts';
import { selectMapping } from '../hub/mapping/mappingEngine.ts';
import { loadMappings } from '../hub/mapping/mappingLoader.ts';
import type { MappingRegistry } from '../hub/mapping/mappingRegistry.ts';
import { DeadLetterPublisher } from '../hub/pipeline/deadLetter.ts';
import { FhirNormalizer } from '../hub/pipeline/fhirNormalizer.ts';
import { Hl7v2Normalizer } from '../hub/pipeline/hl7v2Normalizer.ts';
import { createBatchProcessor, createRecordProcessor } from '../hub/pipeline/recordProcessor.ts';
import { StageTimings } from '../hub/pipeline/stageTimings.ts';
import { fullResourceValidators } from '../hub/pipeline/fhirSchemaValidator.ts';
import { connectMongo, type MongoConnection } from '../hub/store/mongoConnection.ts';
import { MongoExportJobs } from '../hub/store/exportJobs.ts';
import { MongoResourceStore } from '../hub/store/mongoResourceStore.ts';
import { SEARCHABLE_TYPES } from '../hub/store/searchParameterTable.ts';
import { MongoSourceMessageLog } from '../hub/store/mongoSourceMessageLog.ts';
import { createPatientIndex } from '../hub/mpi/createPatientIndex.ts';
import { patientIndexBatchHook, patientIndexHook } from '../hub/mpi/patientIndexHook.ts';
import type { PatientIndex } from '../hub/mpi/patientIndex.ts';

export interface HubRuntimeOptions {
  /** run the consumer that maps and stores (default true) */
  pipeline?: boolean;
  /** serve the FHIR API (default true) */
  api?: boolean;
  /** start the configured connectors (default true) */
  connectors?: boolean;
}

/**
 * The composition root: wires config, Kafka, MongoDB, mappings, the pipeline, connectors and
 * the API. One process can run all of them (the quick start) or any subset (scaled workers).
 */
export class HubRuntime {
  mongo: MongoConnection | undefined;
  store: MongoResourceStore | undefined;
  patientIndex: PatientIndex | undefined;
  producer: KafkaProducer | undefined;
  consumer: KafkaRecordConsumer | undefined;
  connectors: Connector[] = [];
  httpServer: Server | undefined;
  apiSecurity: ApiSecurity | undefined;
  /** where the pipeline's time goes, per stage */
  readonly pipelineTimings = new StageTimings();
  /** encryption at rest, when `encryption.enabled` */
  protection: DataProtection | undefined;

  constructor(readonly config: HubConfig, readonly log: Logger, private readonly options: HubRuntimeOptions = {}) {}

  async start(): Promise<void> {
    const { config, log } = this;
    validateConnectors(config.connectors, config.auth);
    const mappingsDir = path.resolve(PROJECT_ROOT, config.mappings.dir);
    const registry = loadMappings(mappingsDir, config.mappings.site);
    log.info({ mappings: registry.messages.length, dir: mappingsDir }, 'mappings loaded');

    // TLS/SASL settings are checked (files readable, secrets set) before any client connects
    const kafkaSecurity = kafkaSecurityProperties(config.kafka.security);
    // so is the key file: missing, unreadable or readable by others stops the start naming encryption.keyFile
    this.protection = await loadDataProtection(config.encryption);
    const protection = this.protection ? { protection: this.protection } : {};
    await new KafkaTopicAdmin(config.kafka.brokers, log, kafkaSecurity).ensureTopics(
      Object.values(config.kafka.topics).map((name) => ({ name, partitions: config.kafka.partitions })),
    );
    this.producer = new KafkaProducer({
      brokers: config.kafka.brokers, security: kafkaSecurity, clientId: config.kafka.clientId,
      deliveryTimeoutMs: config.kafka.deliveryTimeoutMs, maxQueuedMessages: config.kafka.maxQueuedMessages,
    }, log);
    await this.producer.connect();
    // everything the hub publishes goes through this one: sealed when encryption is on
    const publisher: BusProducer = this.protection ? new SealingProducer(this.producer, this.protection.recordSealer()) : this.producer;

    this.mongo = await connectMongo(config.mongo.url, config.mongo.database);
    this.store = new MongoResourceStore(this.mongo.db, protection);
    // reads are `_id` lookups and ranges; this only adds MongoDB's index for type-level history
    await this.store.ensureIndexes(SEARCHABLE_TYPES);
    if (config.mpi.enabled) {
      this.patientIndex = await createPatientIndex({ db: this.mongo.db, store: this.store, log, rulesFile: config.mpi.rulesFile, ...protection });
    }

    if (this.options.pipeline !== false) {
      const normalizerDeps = {
        store: this.store,
        registry: () => registry,
        settings: { timeZone: config.site.timeZone, identifierSystemBase: config.site.identifierSystemBase, siteName: config.site.name },
        validators: fullResourceValidators,
        limits: config.pipeline.limits,
        log,
      };
      const normalizer = new Hl7v2Normalizer(normalizerDeps);
      const processorDeps = {
        normalizers: {
          [CONTENT_TYPES.hl7v2]: normalizer,
          // FHIR input goes through the same validators and store as HL7v2
          [CONTENT_TYPES.fhirJson]: new FhirNormalizer(normalizerDeps),
        },
        store: this.store,
        messageLog: new MongoSourceMessageLog(this.mongo.db, this.store, this.protection),
        deadLetter: new DeadLetterPublisher(publisher, config.kafka.topics.deadLetter),
        log,
        timings: this.pipelineTimings,
        ...(this.patientIndex ? { onProcessed: patientIndexHook(this.patientIndex), onBatchProcessed: patientIndexBatchHook(this.patientIndex) } : {}),
      };
      const processor = createRecordProcessor(processorDeps);
      this.consumer = new KafkaRecordConsumer({
        brokers: config.kafka.brokers, security: kafkaSecurity, groupId: config.pipeline.groupId, clientId: `${config.kafka.clientId}-pipeline`,
        topics: [config.kafka.topics.hl7v2Inbound, config.kafka.topics.fhirInbound], batchSize: config.pipeline.batchSize,
        retry: { maxAttempts: config.pipeline.maxAttempts, initialDelayMs: config.pipeline.backoff.initialMs, maxDelayMs: config.pipeline.backoff.maxMs },
      }, log);
      // records are opened (decrypted) before anything reads them; one that cannot be is dead-lettered as it is
      const open = recordOpener(this.protection?.recordSealer());
      const unreadable = (record: ConsumedRecord, error: HubError) => processorDeps.deadLetter.send(record, error, 'ingest');
      // what waits in a partition is stored as one batch; a failed batch is retried record by record
      await this.consumer.start(openingHandler(processor, open, unreadable), openingBatchHandler(createBatchProcessor(processorDeps, processor), open));
      log.info({ groupId: config.pipeline.groupId }, 'pipeline consuming');
    }

    if (this.options.api !== false) {
      this.apiSecurity = await apiSecurity(config, this.mongo.db, log, this.protection);
      const app = createFhirApp({
        store: this.store, log, baseUrl: apiBaseUrl(config), ...this.apiSecurity.deps, exportJobs: new MongoExportJobs(this.mongo.db),
        ...(this.patientIndex ? {
          patients: this.patientIndex, extraOperations: PATIENT_INDEX_OPERATIONS,
          extraRouters: [patientIndexRoutes(this.patientIndex, apiBaseUrl(config))],
        } : {}),
      });
      this.httpServer = await listenApi(app, config.api, this.apiSecurity.trail);
      log.info({ url: this.apiUrl() }, 'FHIR API listening');
    }

    if (this.options.connectors !== false) {
      for (const c of config.connectors.filter((x) => x.enabled !== false)) {
        const connector = createConnector({ config: c, hub: config, producer: publisher, log: log.child({ connector: c.id }), isSupported: mappingSupportCheck(() => registry) });
        await connector.start();
        this.connectors.push(connector);
      }
    }
  }

  apiUrl(): string {
    const address = this.httpServer?.address();
    if (address && typeof address === 'object') {
      const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
      return `${this.config.api.tls ? 'https' : 'http'}://${host}:${address.port}/fhir`;
    }
    return apiBaseUrl(this.config);
  }

  async stop(): Promise<void> {
    for (const c of this.connectors.reverse()) await c.stop().catch(() => undefined);
    this.connectors = [];
    if (this.httpServer) {
      const server = this.httpServer;
      this.httpServer = undefined;
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
    }
    await this.apiSecurity?.close();
    await this.consumer?.stop();
    await this.producer?.close();
    await this.mongo?.close();
  }
}

/**
 * Connectors refuse at intake (AR, HL7 error 200/201, dead-lettered) what no mapping handles,
 * instead of acknowledging a message the pipeline can only dead-letter later.
 */
function mappingSupportCheck(registry: () => MappingRegistry): SupportCheck {
  return (message) => {
    try {
      selectMapping(registry(), message);
      return { supported: true };
    } catch (err) {
      if (isHubError(err) && err.code === 'MAPPING_UNSUPPORTED_MESSAGE_TYPE') return { supported: false, unsupported: 'messageType', reason: err.message };
      if (isHubError(err) && err.code === 'MAPPING_UNSUPPORTED_EVENT') return { supported: false, unsupported: 'triggerEvent', reason: err.message };
      return { supported: true }; // anything else is the pipeline's to judge (and dead-letter)
    }
  };
}
