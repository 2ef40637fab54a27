import { expect } from 'chai';
import { parseSince, runDeadLetter } from '../../../app/commands/deadLetterCommand.ts';
import { KafkaProducer, KafkaTopicAdmin } from '../../../hub/bus/kafkaBus.ts';
import { KafkaTopicReader } from '../../../hub/bus/kafkaTopicReader.ts';
import type { ConsumedRecord } from '../../../hub/bus/messageBus.ts';
import { HubError } from '../../../hub/core/hubError.ts';
import { CONTENT_TYPES, ENVELOPE_HEADERS } from '../../../hub/core/inboundEnvelope.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { DeadLetterPublisher, REPLAY_HEADERS } from '../../../hub/pipeline/deadLetter.ts';
import { eventually, isolatedConfig } from '../../support/testServices.ts';

describe('hub deadletter list and replay against real Kafka', function () {
  this.timeout(120_000);
  const config = isolatedConfig();
  const { hl7v2Inbound: inbound, deadLetter: dlq } = config.kafka.topics;
  const producer = new KafkaProducer({ brokers: config.kafka.brokers, clientId: 'dlq-test', deliveryTimeoutMs: 5000, maxQueuedMessages: 1000 }, silentLogger());
  const reader = new KafkaTopicReader(config.kafka.brokers);
  let out: string[] = [];
  const replayProducer = () => new KafkaProducer({ brokers: config.kafka.brokers, clientId: 'dlq-replay-test', deliveryTimeoutMs: 5000, maxQueuedMessages: 1000 }, silentLogger());
  const run = (...args: string[]) => runDeadLetter(args, { config, reader, producer: replayProducer, out: (t) => out.push(t) });

  const headers = (controlId: string, type: string) => ({
    [ENVELOPE_HEADERS.connectorId]: 'his-adt', [ENVELOPE_HEADERS.sourceSystem]: 'HIS', [ENVELOPE_HEADERS.receivedAt]: new Date().toISOString(),
    [ENVELOPE_HEADERS.contentType]: CONTENT_TYPES.hl7v2, [ENVELOPE_HEADERS.controlId]: controlId, [ENVELOPE_HEADERS.messageType]: type,
  });

  before(async () => {
    await new KafkaTopicAdmin(config.kafka.brokers, silentLogger()).ensureTopics([inbound, dlq].map((name) => ({ name, partitions: 1 })));
    const dead = new DeadLetterPublisher(producer, dlq);
    // One refused at intake (never in the inbound topic), two failed in the pipeline.
    await dead.send({ topic: inbound, partition: -1, offset: -1, value: Buffer.from('MSH|^~\\&|A|B|C|D|1||ZZZ^Z99|Z1|P|2.5\r'), headers: headers('Z1', 'ZZZ^Z99'), key: 'H|1' },
      new HubError('HL7_MESSAGE_TYPE_UNSUPPORTED', 'no mapping handles message type ZZZ'), 'intake');
    await dead.send({ topic: inbound, partition: 0, offset: 41, value: Buffer.from('MSH|^~\\&|A|B|C|D|1||ORU^R01|O1|P|2.5\r'), headers: headers('O1', 'ORU^R01') },
      new HubError('MAPPING_UNSUPPORTED_MESSAGE_TYPE', 'no mapping handles message type ORU'), 'map');
    await dead.send({ topic: inbound, partition: 0, offset: 42, value: Buffer.from('MSH|^~\\&|A|B|C|D|1||ORU^R01|O2|P|2.5\r'), headers: headers('O2', 'ORU^R01') },
      new HubError('MAPPING_UNSUPPORTED_MESSAGE_TYPE', 'no mapping handles message type ORU'), 'map');
  });
  beforeEach(() => {
    out = [];
  });
  after(async () => {
    await reader.close();
    await producer.close();
  });

  async function inboundRecords(): Promise<ConsumedRecord[]> {
    const records: ConsumedRecord[] = [];
    for await (const r of reader.read(inbound)) records.push(r);
    return records;
  }

  it('lists every record with position, code, stage, original topic and control id', async () => {
    expect(await run('list')).to.equal(0);
    const [header, ...rows] = out.slice(0, -1).join('\n').split('\n');
    expect(header).to.match(/^POSITION\s+FAILED AT\s+CODE\s+STAGE\s+ORIGINAL TOPIC\s+CONTROL ID/);
    expect(rows).to.have.length(3);
    expect(rows[0]).to.match(new RegExp(`^0:0\\s+\\S+\\s+HL7_MESSAGE_TYPE_UNSUPPORTED\\s+intake\\s+${inbound.replace(/\./g, '\\.')}\\s+Z1\\s+ZZZ\\^Z99`));
    expect(out.at(-1)).to.equal(`3 dead-letter record(s) in ${dlq}`);
  });

  it('filters the list by code and prints JSON lines', async () => {
    await run('list', '--code', 'MAPPING_UNSUPPORTED_MESSAGE_TYPE', '--json');
    const entries = out.map((l) => JSON.parse(l) as { controlId: string; stage: string; originalOffset: number });
    expect(entries.map((e) => [e.controlId, e.stage, e.originalOffset])).to.deep.equal([['O1', 'map', 41], ['O2', 'map', 42]]);
  });

  it('replays only the matching records to their original topic, headers restored and marked as replays', async () => {
    expect(await run('replay', '--code', 'MAPPING_UNSUPPORTED_MESSAGE_TYPE', '--since', '1h')).to.equal(0);
    expect(out.at(-1)).to.equal(`replayed 2 record(s) from ${dlq}`);
    const records = await eventually(async () => { const r = await inboundRecords(); return r.length >= 2 ? r : undefined; }, 30_000, 'replayed records');
    expect(records.map((r) => r.headers[ENVELOPE_HEADERS.controlId])).to.deep.equal(['O1', 'O2']);
    expect(records[0]!.value.toString()).to.equal('MSH|^~\\&|A|B|C|D|1||ORU^R01|O1|P|2.5\r');
    expect(records[0]!.headers[REPLAY_HEADERS.replayOf]).to.equal(`${dlq}/0/1`);
    expect(Object.keys(records[0]!.headers).filter((k) => k.startsWith('hub-dlq-'))).to.deep.equal([]);
    expect(records[0]!.headers[ENVELOPE_HEADERS.contentType]).to.equal(CONTENT_TYPES.hl7v2);
  });

  it('replays a single record by position, keeping its patient key', async () => {
    await run('replay', '--position', '0:0');
    const records = await eventually(async () => { const r = await inboundRecords(); return r.length >= 3 ? r : undefined; }, 30_000, 'the replayed record');
    expect(records[2]!.headers[ENVELOPE_HEADERS.controlId]).to.equal('Z1');
    expect(records[2]!.key).to.equal('H|1');
  });

  it('shows what a replay would do without doing it', async () => {
    await run('replay', '--dry-run', '--stage', 'intake');
    expect(out).to.deep.equal([`would replay 0:0 HL7_MESSAGE_TYPE_UNSUPPORTED to ${inbound} (MSH-10 Z1)`, '1 record(s) would be replayed']);
  });

  it('explains its usage for an unknown action, and a bad --since', async () => {
    expect(await run('purge')).to.equal(2);
    expect(out[0]).to.contain('hub deadletter list');
    expect(() => parseSince('yesterday-ish')).to.throw(HubError, /--since/);
    expect(parseSince('2h', 10_000_000)).to.equal(10_000_000 - 7_200_000);
  });
});
