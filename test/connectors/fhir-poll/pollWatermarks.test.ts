import { expect } from 'chai';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { advancedWatermark, ingestedBefore, PollWatermarks } from '../../../connectors/fhir-poll/pollWatermarks.ts';
import { HubError } from '../../../hub/core/hubError.ts';

const now = new Date('2026-03-02T00:00:00Z');

describe('poll watermarks', () => {
  describe('advancing', () => {
    it('moves to the newest lastUpdated and remembers every id at that instant, whatever the offset written', () => {
      const next = advancedWatermark(undefined, [
        { id: 'a', lastUpdated: '2026-03-01T10:00:00+08:00' },
        { id: 'c', lastUpdated: '2026-03-01T02:00:01Z' },
        { id: 'b', lastUpdated: '2026-03-01T10:00:01.000+08:00' },
      ], now);
      expect(next).to.deep.equal({ since: '2026-03-01T02:00:01Z', idsAtSince: ['b', 'c'], updatedAt: now.toISOString() });
    });

    it('adds to the ids of an unchanged instant and drops them once time moves on', () => {
      const at = { since: '2026-03-01T02:00:01Z', idsAtSince: ['b'], updatedAt: '' };
      expect(advancedWatermark(at, [{ id: 'd', lastUpdated: '2026-03-01T02:00:01Z' }], now)!.idsAtSince).to.deep.equal(['b', 'd']);
      expect(advancedWatermark(at, [{ id: 'e', lastUpdated: '2026-03-01T02:00:02Z' }], now)!.idsAtSince).to.deep.equal(['e']);
    });

    it('does not move for nothing, for times it cannot read, or backwards', () => {
      const at = { since: '2026-03-01T02:00:01Z', idsAtSince: ['b'], updatedAt: '' };
      expect(advancedWatermark(at, [], now)).to.equal(undefined);
      expect(advancedWatermark(at, [{ id: 'x', lastUpdated: 'yesterday' }], now)).to.equal(undefined);
      expect(advancedWatermark(at, [{ id: 'y', lastUpdated: '2026-03-01T00:00:00Z' }], now)).to.equal(undefined);
    });

    it('skips only resources ingested at the watermark instant itself', () => {
      const at = { since: '2026-03-01T02:00:01Z', idsAtSince: ['b'], updatedAt: '' };
      expect(ingestedBefore(at, { id: 'b', lastUpdated: '2026-03-01T10:00:01+08:00' })).to.equal(true);
      expect(ingestedBefore(at, { id: 'c', lastUpdated: '2026-03-01T02:00:01Z' })).to.equal(false);
      expect(ingestedBefore(at, { id: 'b', lastUpdated: '2026-03-01T02:00:02Z' })).to.equal(false);
      expect(ingestedBefore(undefined, { id: 'b', lastUpdated: '2026-03-01T02:00:01Z' })).to.equal(false);
    });
  });

  describe('state file', () => {
    let dir = '';
    beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'watermarks-')); });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('survives a new instance and leaves no temporary file behind', () => {
      const file = PollWatermarks.fileFor(path.join(dir, 'state'), 'emr');
      const first = new PollWatermarks(file, 'http://up/fhir');
      expect(first.load()).to.equal(true);
      first.set('Patient', { since: '2026-03-01T00:00:00Z', idsAtSince: ['p1'], updatedAt: now.toISOString() });
      const second = new PollWatermarks(file, 'http://up/fhir');
      expect(second.load()).to.equal(true);
      expect(second.get('Patient')!.idsAtSince).to.deep.equal(['p1']);
      expect(readdirSync(path.join(dir, 'state'))).to.deep.equal(['emr.fhir-poll.json']);
    });

    it('sets aside the watermarks of another upstream', () => {
      const file = path.join(dir, 'emr.fhir-poll.json');
      new PollWatermarks(file, 'http://old/fhir').set('Patient', { since: '2026-03-01T00:00:00Z', idsAtSince: [], updatedAt: '' });
      const moved = new PollWatermarks(file, 'http://new/fhir');
      expect(moved.load()).to.equal(false);
      expect(moved.get('Patient')).to.equal(undefined);
    });

    it('refuses to start from a damaged file rather than ingest everything again', () => {
      const file = path.join(dir, 'emr.fhir-poll.json');
      writeFileSync(file, '{"version":1,"baseUrl":');
      try {
        new PollWatermarks(file, 'http://up/fhir').load();
        expect.fail('expected an error');
      } catch (err) {
        expect(err).to.be.instanceOf(HubError);
        expect((err as HubError).code).to.equal('CONNECTOR_STATE_UNREADABLE');
      }
      expect(readFileSync(file, 'utf8')).to.equal('{"version":1,"baseUrl":');
    });
  });
});
