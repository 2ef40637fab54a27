import { expect } from 'chai';
import { formatStatus, parseInterval, runStatus, type IngestStatusReport, type StatusDeps } from '../../../app/commands/statusCommand.ts';
import type { GroupOffsetReader, TopicReader } from '../../../hub/bus/messageBus.ts';
import { HubError } from '../../../hub/core/hubError.ts';
import { isolatedConfig } from '../../support/testServices.ts';

/** Clients that fail the test if the command touches Kafka. */
const untouchable = {
  offsets: new Proxy({}, { get: () => { throw new Error('must not read offsets'); } }) as GroupOffsetReader,
  reader: new Proxy({}, { get: () => { throw new Error('must not read topics'); } }) as TopicReader,
};

describe('hub status options and output', () => {
  const config = isolatedConfig();
  const run = async (...args: string[]) => {
    const out: string[] = [];
    const deps: StatusDeps = { config, ...untouchable, out: (t) => out.push(t) };
    return { code: await runStatus(args, deps), out };
  };

  it('prints its help and reads nothing with --help', async () => {
    const { code, out } = await run('--help', '--watch');
    expect(code).to.equal(0);
    expect(out.join('\n')).to.match(/^usage: hub status \[--interval 5s\] \[--watch\] \[--json\]/);
  });

  it('refuses unknown options, a valueless --interval and --watch without an interval, naming the option', async () => {
    for (const [args, message] of [[['--lag'], /unknown option --lag/], [['--interval'], /--interval needs a value/], [['--watch', '--interval', '0'], /--watch needs an --interval above 0/], [['--interval', 'soon'], /--interval "soon" is not a duration/]] as const) {
      const refusal = await run(...args).then(() => undefined, (err: unknown) => err);
      expect(refusal, args.join(' ')).to.be.instanceOf(HubError).with.property('code', 'CLI_ARGUMENT_INVALID');
      expect((refusal as HubError).message).to.match(message);
    }
  });

  it('reads intervals in ms, s and min, plain numbers as seconds', () => {
    expect(['500ms', '5s', '1m', '2', '0.5s'].map(parseInterval)).to.deep.equal([500, 5000, 60_000, 2000, 500]);
  });

  it('formats a reading as a table with the rate, the time to catch up and the newest dead letters', () => {
    const report: IngestStatusReport = {
      at: '2026-12-01T08:00:00.000Z', group: 'hub-normalizer', totalLag: 1200, missingTopics: ['hub.fhir.inbound'],
      partitions: [
        { topic: 'hub.hl7v2.inbound', partition: 0, committed: 3000, low: 0, high: 4200, lag: 1200 },
        { topic: 'hub.hl7v2.inbound', partition: 1, committed: null, low: 0, high: 0, lag: 0 },
      ],
      rate: { intervalMs: 5000, handled: 600, perSecond: 120, etaSeconds: 10 },
      deadLetters: {
        topic: 'hub.deadletter', records: 7, partitions: [{ partition: 0, records: 7 }],
        recent: [{ position: '0:6', failedAt: '2026-12-01T07:59:00.000Z', code: 'MAPPING_UNSUPPORTED_EVENT', stage: 'map', controlId: 'HIS9' }],
      },
    };
    expect(formatStatus(report).split('\n')).to.deep.equal([
      'pipeline group hub-normalizer at 2026-12-01T08:00:00.000Z',
      '',
      'TOPIC              PARTITION  COMMITTED   END   LAG',
      'hub.hl7v2.inbound          0       3000  4200  1200',
      'hub.hl7v2.inbound          1          -     0     0',
      'hub.fhir.inbound: no such topic (the hub creates it when it starts)',
      'total lag 1200 record(s)',
      'handled 120.0 msg/s (600 stored or dead-lettered in 5.0 s); caught up in ~10 s at this rate',
      '',
      'dead letters: 7 record(s) in hub.deadletter',
      '  POSITION  FAILED AT                 CODE                       STAGE  CONTROL ID',
      '  0:6       2026-12-01T07:59:00.000Z  MAPPING_UNSUPPORTED_EVENT  map    HIS9',
    ]);
  });
});
