import { expect } from 'chai';
import { ConsumerProgress } from '../../../hub/bus/consumerProgress.ts';
import { capturingLogger } from '../../support/capturingLogger.ts';

const at = (topic: string, partition: number, offset: number) => ({ topic, partition, offset });

/** A reporter on a clock the test moves by hand. */
function reporter(settings = { minLag: 100, intervalMs: 10_000 }) {
  let clock = 1_000_000;
  const { log, lines } = capturingLogger('info');
  const progress = new ConsumerProgress(log, settings, () => clock);
  return { progress, lines, advance: (ms: number) => { clock += ms; } };
}

describe('consumer progress while catching up', () => {
  it('stays quiet while every partition is less than minLag behind its end', () => {
    const { progress, lines, advance } = reporter();
    for (let offset = 0; offset < 50; offset += 1) {
      advance(1000);
      progress.settled(at('in', 0, offset), 1, 0, offset + 60);
    }
    expect(lines).to.deep.equal([]);
  });

  it('announces a backlog at once, then logs at most one line per interval with records handled, rate, lag per partition and ETA', () => {
    const { progress, lines, advance } = reporter();
    progress.settled(at('in', 0, 99), 100, 100, 1100); // 1000 behind
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ msg: 'pipeline catching up', totalLag: 1000 });
    expect(lines[0]!.lag).to.deep.equal({ 'in/0': 1000 });

    advance(4000);
    progress.settled(at('in', 0, 199), 100, 100, 1100);
    progress.settled(at('in', 1, 9), 1, 0, 40); // another partition, 30 behind
    expect(lines, 'no line before the interval has passed').to.have.length(1);

    advance(6000); // 10 s after the first line; 201 records in those 10 s
    progress.settled(at('in', 0, 299), 100, 100, 1100);
    expect(lines).to.have.length(2);
    const line = lines[1]!;
    expect(line).to.include({ msg: 'pipeline catching up', handled: 201, perSecond: 20.1, totalLag: 830 });
    expect(line.lag).to.deep.equal({ 'in/0': 800, 'in/1': 30 });
    expect(line.etaSeconds).to.equal(41);
  });

  it('counts a batch as its records and takes fetched-but-unsettled records as lag when the known end is stale', () => {
    const { progress, lines, advance } = reporter({ minLag: 100, intervalMs: 1000 });
    progress.settled(at('in', 0, 9), 10, 300, undefined); // end unknown, 300 fetched and waiting
    expect(lines[0]).to.include({ msg: 'pipeline catching up', totalLag: 300 });
    advance(2000);
    progress.settled(at('in', 0, 59), 50, 250, undefined);
    expect(lines[1]).to.include({ handled: 50, perSecond: 25, totalLag: 250 });
  });

  it('logs one summary when every partition reached its end, and starts over on the next backlog', () => {
    const { progress, lines, advance } = reporter({ minLag: 100, intervalMs: 60_000 });
    progress.settled(at('in', 0, 0), 1, 0, 401);
    progress.settled(at('in', 1, 0), 1, 0, 51);
    advance(20_000);
    progress.settled(at('in', 0, 400), 400, 0, 401);
    expect(lines.map((l) => l.msg)).to.deep.equal(['pipeline catching up'], 'partition 1 still has lag');
    advance(5000);
    progress.settled(at('in', 1, 50), 50, 0, 51);
    expect(lines).to.have.length(2);
    expect(lines[1]).to.include({ msg: 'pipeline caught up', handled: 451, seconds: 25, perSecond: 18 });

    progress.settled(at('in', 1, 51), 1, 0, 52);
    expect(lines, 'steady state after catching up is quiet').to.have.length(2);
    progress.settled(at('in', 1, 52), 1, 0, 700);
    expect(lines[2]).to.include({ msg: 'pipeline catching up', totalLag: 647 });
  });

  it('leaves a revoked partition out, so its lag no longer holds the summary back', () => {
    const { progress, lines, advance } = reporter();
    progress.settled(at('in', 0, 0), 1, 0, 1000);
    progress.settled(at('in', 1, 0), 1, 0, 11);
    progress.forget({ topic: 'in', partition: 0 });
    advance(1000);
    progress.settled(at('in', 1, 10), 10, 0, 11);
    expect(lines.map((l) => l.msg)).to.deep.equal(['pipeline catching up', 'pipeline caught up']);
  });
});
