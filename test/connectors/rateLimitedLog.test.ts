import { expect } from 'chai';
import { RateLimitedLog } from '../../connectors/rateLimitedLog.ts';
import { capturingLogger } from '../support/capturingLogger.ts';

describe('rate-limited refusal log', () => {
  it('writes one line per reason per interval and says how many it left out', async () => {
    const { lines, log } = capturingLogger();
    const refusals = new RateLimitedLog(log, 100);
    for (let i = 0; i < 5; i += 1) refusals.warn('sender-not-allowed', { remote: `10.0.0.${i}` }, 'refused');
    refusals.warn('per-address-limit', { remote: '10.0.0.9' }, 'over the limit');
    await new Promise((r) => setTimeout(r, 150));
    refusals.warn('sender-not-allowed', { remote: '10.0.0.7' }, 'refused');
    expect(lines.map((l) => [l.reason, l.remote, l.suppressedSinceLastLine])).to.deep.equal([
      ['sender-not-allowed', '10.0.0.0', undefined],
      ['per-address-limit', '10.0.0.9', undefined],
      ['sender-not-allowed', '10.0.0.7', 4],
    ]);
    expect(lines[0]).to.include({ level: 40, msg: 'refused' });
  });
});
