import { expect } from 'chai';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { runMappingTest } from '../../../app/commands/mappingCommand.ts';
import { HubRuntime } from '../../../app/hubRuntime.ts';
import { CONTENT_TYPES, envelopeHeaders } from '../../../hub/core/inboundEnvelope.ts';
import { silentLogger } from '../../../hub/core/logger.ts';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { eventually, isolatedConfig, MONGO_URL } from '../../support/testServices.ts';

const ADT = path.join(PROJECT_ROOT, 'test', 'fixtures', 'mapping', 'adt');

describe('hub mapping test --against-store (real Kafka + FerretDB)', function () {
  this.timeout(120_000);
  const config = isolatedConfig({ connectors: [] });
  const runtime = new HubRuntime(config, silentLogger(), { api: false, connectors: false });
  const dir = mkdtempSync(path.join(tmpdir(), 'hub-against-store-'));
  let mongo: MongoClient;

  before(async () => {
    await runtime.start();
    mongo = await new MongoClient(MONGO_URL).connect();
    for (const name of ['adt-a01-admit.hl7', 'adt-a08-update.hl7', 'adt-a03-discharge.hl7']) {
      const text = readFileSync(path.join(ADT, name), 'utf8');
      const controlId = /^MSH(?:\|[^|\r]*){8}\|([^|\r]*)/m.exec(text)![1]!;
      const headers = envelopeHeaders({ connectorId: 'his-adt', sourceSystem: 'HIS', receivedAt: new Date().toISOString(), contentType: CONTENT_TYPES.hl7v2, controlId, raw: Buffer.alloc(0) });
      await runtime.producer!.publish({ topic: config.kafka.topics.hl7v2Inbound, key: 'HIS|MRN200345', value: Buffer.from(text), headers });
      await eventually(async () => (await mongo.db(config.mongo.database).collection('source_messages').findOne({ controlId, status: 'processed' })) ?? undefined, 30_000, controlId);
    }
    // The same mappings with one fix a site might make: sex code F becomes "other" (a deliberate change to diff).
    cpSync(path.join(PROJECT_ROOT, 'mappings'), dir, { recursive: true });
    mkdirSync(path.join(dir, 'sites', 'fix', 'hl7v2', 'codemaps'), { recursive: true });
    writeFileSync(path.join(dir, 'sites', 'fix', 'hl7v2', 'codemaps', 'v2-0001-administrative-gender.yaml'), 'kind: codemap\nextends: base\nmap:\n  F: other\n');
  });

  after(async () => {
    await runtime.stop();
    await mongo?.db(config.mongo.database).dropDatabase().catch(() => undefined);
    await mongo?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function capture() {
    const out: string[] = [];
    const err: string[] = [];
    return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
  }

  it('finds no difference when the mappings are the ones the store was written with', async () => {
    const c = capture();
    expect(await runMappingTest(['--against-store'], config, c.io), [...c.out, ...c.err].join('\n')).to.equal(0);
    expect(c.out.at(-1)).to.match(/^3 source message\(s\) re-mapped: (\d+) resource\(s\), \1 unchanged, 0 would change, 0 would be created$/);
  });

  it('shows what a mapping change would do to each stored resource, and exits 1', async () => {
    const c = capture();
    expect(await runMappingTest(['--against-store', '--dir', dir, '--site', 'fix'], config, c.io)).to.equal(1);
    const text = c.out.join('\n');
    expect(text).to.match(/Patient\/\w+\n(.|\n)*~ gender: expected "female", got "other"/);
    expect(text).to.contain('~ meta.tag[0].version: expected "1", got "1+fix"');
    expect(c.out.at(-1)).to.match(/would change/);
  });
});
