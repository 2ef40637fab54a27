import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { apiBaseUrl, loadConfig } from '../../../hub/config/loadConfig.ts';
import { HubError } from '../../../hub/core/hubError.ts';

function configError(fn: () => unknown): HubError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(HubError);
    return err as HubError;
  }
  throw new Error('expected loadConfig to fail');
}

describe('loadConfig', () => {
  it('loads the shipped defaults as a valid configuration', () => {
    const config = loadConfig({ env: {} });
    expect(config.kafka.topics.hl7v2Inbound).to.equal('hub.hl7v2.inbound');
    expect(config.mongo.database).to.equal('hub');
    expect(config.connectors.map((c) => c.id)).to.include('his-adt');
    expect(config.site.timeZone).to.equal('Asia/Shanghai');
  });

  it('lets the well-known environment variables override file values', () => {
    const config = loadConfig({ env: { KAFKA_BROKERS: '10.0.0.5:9092,10.0.0.6:9092', MONGO_URL: 'mongodb://db.internal:27017/', HUB_API_PORT: '9090' } });
    expect(config.kafka.brokers).to.equal('10.0.0.5:9092,10.0.0.6:9092');
    expect(config.mongo.url).to.equal('mongodb://db.internal:27017/');
    expect(config.api.port).to.equal(9090);
  });

  it('reads HUB__section__key variables as typed values', () => {
    const config = loadConfig({ env: { HUB__pipeline__batchSize: '250', HUB__site__name: 'North Campus' } });
    expect(config.pipeline.batchSize).to.equal(250);
    expect(config.site.name).to.equal('North Campus');
  });

  it('merges a site file named by HUB_CONFIG over the defaults', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hubcfg-'));
    const file = path.join(dir, 'site.yaml');
    writeFileSync(file, 'site:\n  name: Renji Hospital\napi:\n  port: 8181\n');
    const config = loadConfig({ env: { HUB_CONFIG: file } });
    expect(config.site.name).to.equal('Renji Hospital');
    expect(config.api.port).to.equal(8181);
    expect(config.site.timeZone).to.equal('Asia/Shanghai');
  });

  it('removes a default that a site file sets to null, as in a JSON merge patch', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hubcfg-'));
    const file = path.join(dir, 'site.yaml');
    writeFileSync(file, 'auth:\n  devSecret: null\n  jwksUrl: https://idp.example.org/jwks\n');
    const config = loadConfig({ env: { HUB_CONFIG: file } });
    expect(config.auth).to.not.have.property('devSecret');
    expect(config.auth?.jwksUrl).to.equal('https://idp.example.org/jwks');
    expect(config.auth?.issuer).to.equal('urn:hub:dev-issuer');
  });

  it('stops with a message naming the bad key when a value has the wrong type', () => {
    const err = configError(() => loadConfig({ env: { HUB_API_PORT: 'eighty' } }));
    expect(err.code).to.equal('CONFIG_INVALID');
    expect(err.message).to.contain('api.port');
    expect(err.detail.path).to.equal('api.port');
  });

  it('names an unknown key instead of ignoring it', () => {
    const err = configError(() => loadConfig({ env: {}, overrides: { 'kafka.bootstrap': 'x:1' } }));
    expect(err.message).to.contain('kafka.bootstrap is not a known key');
  });

  it('rejects a connector with an unknown source system, naming its index', () => {
    const err = configError(() => loadConfig({ env: {}, overrides: { connectors: [{ id: 'x', kind: 'hl7v2-mllp', sourceSystem: 'EMR' }] } }));
    expect(err.message).to.contain('connectors[0].sourceSystem');
  });

  it('rejects two connectors with the same id', () => {
    const c = { id: 'lis', kind: 'hl7v2-mllp', sourceSystem: 'LIS' };
    const err = configError(() => loadConfig({ env: {}, overrides: { connectors: [c, c] } }));
    expect(err.message).to.contain('connectors[1].id');
  });

  it('reports an unreadable site file by name', () => {
    const err = configError(() => loadConfig({ env: { HUB_CONFIG: '/nonexistent/site.yaml' } }));
    expect(err.code).to.equal('CONFIG_FILE_UNREADABLE');
    expect(err.message).to.contain('/nonexistent/site.yaml');
  });

  it('derives the public FHIR base URL from host and port unless one is set', () => {
    expect(apiBaseUrl(loadConfig({ env: {} }))).to.equal('http://127.0.0.1:8080/fhir');
    expect(apiBaseUrl(loadConfig({ env: { HUB_API_BASE_URL: 'https://fhir.example.org/fhir/' } }))).to.equal('https://fhir.example.org/fhir');
  });
});
