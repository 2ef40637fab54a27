import { expect } from 'chai';
import { matchGrade, matchProbability } from '../../../hub/mpi/patientMatch.ts';

describe('Patient/$match grades (IHE PDQm)', () => {
  const t = { autoMerge: 21, review: 12 };
  it('grades certain at the auto-merge threshold, probable at review, possible within half the gap below', () => {
    expect(matchGrade(21, t)).to.equal('certain');
    expect(matchGrade(12, t)).to.equal('probable');
    expect(matchGrade(7.5, t)).to.equal('possible');
    expect(matchGrade(7.4, t)).to.equal('certainly-not');
  });
  it('maps the score to (0,1), one half midway between the thresholds and rising with the score', () => {
    expect(matchProbability(16.5, t)).to.equal(0.5);
    expect(matchProbability(30, t)).to.be.greaterThan(0.95);
    expect(matchProbability(0, t)).to.be.lessThan(0.05);
  });
});
