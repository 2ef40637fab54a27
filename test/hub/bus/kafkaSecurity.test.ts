import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import rdkafka from 'node-rdkafka';
import { KafkaProducer, KafkaRecordConsumer, KafkaTopicAdmin, type KafkaConsumerSettings } from '../../../hub/bus/kafkaBus.ts';
import { KafkaGroupOffsets } from '../../../hub/bus/kafkaGroupOffsets.ts';
import { kafkaMetadata } from '../../../hub/bus/kafkaHealth.ts';
import { kafkaSecurityProperties, type KafkaClientSecurity, type KafkaSecurityConfig } from '../../../hub/bus/kafkaSecurity.ts';
import { KafkaTopicReader } from '../../../hub/bus/kafkaTopicReader.ts';
import type { HubError } from '../../../hub/core/hubError.ts';
import { silentLogger } from '../../../hub/core/logger.ts';

const SASL_ENV = { KAFKA_SASL_USERNAME: 'hub-service', KAFKA_SASL_PASSWORD: 's3cret-from-the-vault' };

function thrown(fn: () => unknown): HubError {
  try {
    fn();
  } catch (err) {
    return err as HubError;
  }
  throw new Error('expected an error');
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('Kafka TLS and SASL settings as librdkafka properties (no TLS broker needed)', function () {
  this.timeout(30_000);
  let dir: string;
  const file = (name: string) => path.join(dir, name);

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'hub-kafka-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=kafka-test-ca', '-keyout', 'ca.key', '-out', 'ca.pem'], { cwd: dir, stdio: 'ignore' });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=hub', '-keyout', 'client.key', '-out', 'client.pem'], { cwd: dir, stdio: 'ignore' });
    writeFileSync(file('not-a-certificate.pem'), 'this is not PEM\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('adds nothing without a security section or for PLAINTEXT', () => {
    expect(kafkaSecurityProperties(undefined)).to.deep.equal({});
    expect(kafkaSecurityProperties({ protocol: 'PLAINTEXT' })).to.deep.equal({});
  });

  it('turns SSL with a CA and a client certificate into the ssl.* properties, verifying the broker host name by default', () => {
    expect(kafkaSecurityProperties({ protocol: 'SSL', caFile: file('ca.pem'), certFile: file('client.pem'), keyFile: file('client.key') })).to.deep.equal({
      'security.protocol': 'ssl',
      'ssl.endpoint.identification.algorithm': 'https',
      'ssl.ca.location': file('ca.pem'),
      'ssl.certificate.location': file('client.pem'),
      'ssl.key.location': file('client.key'),
    });
    expect(kafkaSecurityProperties({ protocol: 'SSL', verifyHostname: false })).to.deep.equal({ 'security.protocol': 'ssl', 'ssl.endpoint.identification.algorithm': 'none' });
  });

  it('reads SASL credentials and a key password from the environment variables named', () => {
    const sasl: KafkaSecurityConfig = {
      protocol: 'SASL_SSL', caFile: file('ca.pem'), certFile: file('client.pem'), keyFile: file('client.key'), keyPasswordEnv: 'KAFKA_KEY_PASSWORD',
      sasl: { mechanism: 'SCRAM-SHA-512', usernameEnv: 'KAFKA_SASL_USERNAME', passwordEnv: 'KAFKA_SASL_PASSWORD' },
    };
    expect(kafkaSecurityProperties(sasl, { ...SASL_ENV, KAFKA_KEY_PASSWORD: 'key-pass' })).to.deep.include({
      'security.protocol': 'sasl_ssl', 'sasl.mechanisms': 'SCRAM-SHA-512', 'sasl.username': 'hub-service', 'sasl.password': 's3cret-from-the-vault', 'ssl.key.password': 'key-pass',
    });
    expect(kafkaSecurityProperties({ protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', usernameEnv: 'KAFKA_SASL_USERNAME', passwordEnv: 'KAFKA_SASL_PASSWORD' } }, SASL_ENV)).to.deep.equal({
      'security.protocol': 'sasl_plaintext', 'sasl.mechanisms': 'PLAIN', 'sasl.username': 'hub-service', 'sasl.password': 's3cret-from-the-vault',
    });
  });

  it('names the missing environment variable and its config key', () => {
    const err = thrown(() => kafkaSecurityProperties({ protocol: 'SASL_SSL', sasl: { mechanism: 'SCRAM-SHA-256', usernameEnv: 'KAFKA_SASL_USERNAME', passwordEnv: 'HUB_KAFKA_PW' } }, { KAFKA_SASL_USERNAME: 'u' }));
    expect(err.code).to.equal('CONFIG_KAFKA_SECRET_MISSING');
    expect(err.message).to.contain('HUB_KAFKA_PW').and.contain('kafka.security.sasl.passwordEnv');
    expect(err.detail.path).to.equal('kafka.security.sasl.passwordEnv');
  });

  it('refuses settings the protocol would ignore, half a client certificate, and files it cannot read', () => {
    const cases: Array<[KafkaSecurityConfig, string, string]> = [
      [{ protocol: 'PLAINTEXT', caFile: file('ca.pem') }, 'CONFIG_KAFKA_SECURITY_INVALID', 'kafka.security.caFile'],
      [{ protocol: 'SASL_PLAINTEXT', verifyHostname: true, sasl: { mechanism: 'PLAIN', usernameEnv: 'U', passwordEnv: 'P' } }, 'CONFIG_KAFKA_SECURITY_INVALID', 'kafka.security.verifyHostname'],
      [{ protocol: 'SSL', sasl: { mechanism: 'PLAIN', usernameEnv: 'U', passwordEnv: 'P' } }, 'CONFIG_KAFKA_SECURITY_INVALID', 'kafka.security.sasl'],
      [{ protocol: 'SASL_SSL' }, 'CONFIG_KAFKA_SECURITY_INVALID', 'kafka.security.sasl'],
      [{ protocol: 'SSL', certFile: file('client.pem') }, 'CONFIG_KAFKA_SECURITY_INVALID', 'kafka.security.keyFile'],
      [{ protocol: 'SSL', caFile: file('missing.pem') }, 'CONFIG_KAFKA_TLS_FILE_UNREADABLE', 'kafka.security.caFile'],
    ];
    for (const [security, code, key] of cases) {
      const err = thrown(() => kafkaSecurityProperties(security, SASL_ENV));
      expect(err.code, JSON.stringify(security)).to.equal(code);
      expect(err.detail.path, JSON.stringify(security)).to.equal(key);
    }
  });

  it('gives properties librdkafka accepts for every protocol and mechanism', () => {
    const variants: KafkaSecurityConfig[] = [
      { protocol: 'SSL', caFile: file('ca.pem'), certFile: file('client.pem'), keyFile: file('client.key'), verifyHostname: false },
      ...(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const).flatMap((mechanism) => (['SASL_SSL', 'SASL_PLAINTEXT'] as const).map((protocol) => ({
        protocol, sasl: { mechanism, usernameEnv: 'KAFKA_SASL_USERNAME', passwordEnv: 'KAFKA_SASL_PASSWORD' },
      }))),
    ];
    for (const v of variants) {
      const props = kafkaSecurityProperties(v, SASL_ENV);
      // librdkafka checks every property name and value when a client is configured
      expect(() => new rdkafka.Producer({ 'metadata.broker.list': '127.0.0.1:1', ...props }), JSON.stringify(v)).to.not.throw();
      expect(() => new rdkafka.KafkaConsumer({ 'metadata.broker.list': '127.0.0.1:1', 'group.id': 'g', ...props }, {}), JSON.stringify(v)).to.not.throw();
    }
    expect(() => new rdkafka.Producer({ 'metadata.broker.list': '127.0.0.1:1', 'security.protocol': 'tls' as never })).to.throw(/security\.protocol/);
  });

  describe('every hub Kafka client uses them', () => {
    // a CA file that is not a certificate: librdkafka fails the moment the client starts, with
    // OpenSSL's complaint about it, which it can only do if the property reached that client
    const CA_REFUSED = /ssl\.ca\.location|x509 certificate routines/;
    let broken: KafkaClientSecurity;
    before(() => { broken = { 'security.protocol': 'ssl', 'ssl.ca.location': file('not-a-certificate.pem') }; });
    const brokers = '127.0.0.1:1';

    it('the producer', async () => {
      const producer = new KafkaProducer({ brokers, clientId: 't', deliveryTimeoutMs: 1000, maxQueuedMessages: 10, security: broken }, silentLogger());
      expect((await rejection(producer.connect())).message).to.match(CA_REFUSED);
    });

    it('the pipeline consumer', async () => {
      const settings = { brokers, groupId: 'g', topics: ['t'], clientId: 't', batchSize: 1, retry: { maxAttempts: 1, initialDelayMs: 10, maxDelayMs: 10 }, security: broken } as KafkaConsumerSettings;
      const consumer = new KafkaRecordConsumer(settings, silentLogger());
      expect((await rejection(consumer.start(async () => undefined))).message).to.match(CA_REFUSED);
    });

    it('the topic reader and the health probe', async () => {
      const reader = new KafkaTopicReader(brokers, broken);
      expect((await rejection((async () => { for await (const _ of reader.read('t')) break; })())).message).to.match(CA_REFUSED);
      expect((await rejection(kafkaMetadata(brokers, 1000, broken))).message).to.match(CA_REFUSED);
    });

    it('the group offset reader of hub status', async () => {
      const offsets = new KafkaGroupOffsets(brokers, broken);
      expect((await rejection(offsets.committedOffsets('g', ['t']))).message).to.match(CA_REFUSED);
      await offsets.close();
    });

    it('the topic admin', async () => {
      // librdkafka's admin client says only "Erroneous state" when it cannot start; without the
      // broken CA the same client starts (it connects lazily), so the property made the difference
      rdkafka.AdminClient.create({ 'metadata.broker.list': brokers }).disconnect();
      const started = Date.now();
      expect((await rejection(new KafkaTopicAdmin(brokers, silentLogger(), broken).ensureTopics([{ name: 't', partitions: 1 }]))).message).to.match(/Erroneous state/);
      expect(Date.now() - started).to.be.below(1000);
    });
  });
});
