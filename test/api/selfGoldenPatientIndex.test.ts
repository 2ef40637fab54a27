import { expect } from 'chai';
import { SelfGoldenPatientIndex } from '../../api/selfGoldenPatientIndex.ts';

describe('SelfGoldenPatientIndex (no master patient index running)', () => {
  const index = new SelfGoldenPatientIndex();

  it('makes every Patient its own golden record and only source', async () => {
    expect(await index.goldenOf('p1')).to.equal('p1');
    expect(await index.sourcesOf('p1')).to.deep.equal(['p1']);
    expect(await index.isGolden('p1')).to.equal(true);
  });

  it('never reports a Patient as merged away', async () => {
    expect(await index.survivorOf('p1')).to.equal(undefined);
  });
});
