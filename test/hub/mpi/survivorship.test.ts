import { expect } from 'chai';
import { loadMatchRules } from '../../../hub/mpi/matchRules.ts';
import { buildGoldenPatient, isGoldenPatient, type GoldenSource } from '../../../hub/mpi/survivorship.ts';
import { patient, zhangSanHis, zhangSanLis, zhangSanPacs } from './patientFixtures.ts';

const rules = loadMatchRules();

describe('MPI survivorship (golden record)', () => {
  const his: GoldenSource = { resource: zhangSanHis(), sourceSystem: 'HIS', updatedAt: '2026-01-01T00:00:00Z' };
  const lis: GoldenSource = { resource: zhangSanLis(), sourceSystem: 'LIS', updatedAt: '2026-02-01T00:00:00Z' };
  const pacs: GoldenSource = { resource: zhangSanPacs(), sourceSystem: 'PACS', updatedAt: '2026-03-01T00:00:00Z' };

  it('takes name and birth date from the most trusted source even when a less trusted one is newer', () => {
    const g = buildGoldenPatient('g1', [pacs, lis, his], rules);
    expect(g.name?.[0]).to.include({ family: '张' });
    expect(g.birthDate).to.equal('1990-03-07');
  });
  it('takes the telecom from the most recently updated source when the rule says mostRecent', () => {
    const mostRecent = { survivorship: { ...rules.survivorship, elements: { ...rules.survivorship.elements, telecom: 'mostRecent' as const } } };
    const g = buildGoldenPatient('g1', [his, lis, pacs], mostRecent);
    expect(g.telecom?.[0]?.value).to.equal('0086-13800138000');
  });
  it('takes the telecom from the most trusted source that has one under the shipped rules, even when another is newer', () => {
    const g = buildGoldenPatient('g1', [his, lis, pacs], rules);
    expect(g.telecom).to.deep.equal([{ system: 'phone', value: '+86 138 0013 8000' }]);
    const noPhoneHis = { ...his, resource: { ...his.resource, telecom: [] } };
    expect(buildGoldenPatient('g1', [noPhoneHis, lis, pacs], rules).telecom?.[0]?.value, 'the next trusted source fills the gap').to.equal('13800138000');
  });
  it('unites identifiers from every source without duplicates', () => {
    const g = buildGoldenPatient('g1', [his, lis, pacs], rules);
    const values = g.identifier!.map((i) => i.value);
    expect(values).to.include.members(['MRN100001', '110101199003077774', 'L-5521', 'P-77']);
    expect(values.filter((v) => v === '110101199003077774')).to.have.length(1);
  });
  it('is tagged GOLDEN_RECORD and links each source as seealso', () => {
    const g = buildGoldenPatient('g1', [his, lis], rules);
    expect(isGoldenPatient(g)).to.equal(true);
    expect(g.link).to.deep.equal([
      { other: { reference: 'Patient/his-zs' }, type: 'seealso' },
      { other: { reference: 'Patient/lis-zs' }, type: 'seealso' },
    ]);
  });
  it('gives the same record whatever order the sources come in, and never changes a source', () => {
    const before = JSON.stringify(his.resource);
    const a = buildGoldenPatient('g1', [his, lis, pacs], rules);
    const b = buildGoldenPatient('g1', [pacs, his, lis], rules);
    expect(a).to.deep.equal(b);
    expect(JSON.stringify(his.resource)).to.equal(before);
  });
  it('falls back to a less trusted source when the trusted one lacks the element', () => {
    const noAddressHis = { ...his, resource: { ...his.resource, address: [] } };
    const g = buildGoldenPatient('g1', [noAddressHis, { ...lis, resource: { ...lis.resource, address: [{ city: '上海' }] } }], rules);
    expect(g.address?.[0]?.city).to.equal('上海');
  });

  describe('sources trusted by rule, not by what they send', () => {
    /** A record from a push feed (source `other`) claiming the HIS patient died, with a new phone and address: the forged-feed attack. */
    const forged: GoldenSource = {
      resource: {
        ...patient({ id: 'push-zs', family: '张', given: '三', birthDate: '1990-03-07', gender: 'male', phone: '+86 199 9999 9999', line: '伪造路 66号', mrn: ['urn:oid:2.16.840.1.113883.19.5', 'MRN100001'], source: 'other' }),
        deceasedBoolean: true,
      },
      sourceSystem: 'other', updatedAt: '2026-06-01T00:00:00Z',
    };

    it('never reads a person as deceased because a feed other than the HIS says so', () => {
      const g = buildGoldenPatient('g1', [his, lis, forged], rules);
      expect(g).to.not.have.property('deceasedBoolean');
      expect(g).to.not.have.property('deceasedDateTime');
      const lisSaysDead = { ...lis, resource: { ...lis.resource, deceasedDateTime: '2026-05-01T10:00:00+08:00' } };
      expect(buildGoldenPatient('g1', [his, lisSaysDead], rules)).to.not.have.property('deceasedDateTime');
    });
    it('takes a death from the HIS', () => {
      const hisSaysDead = { ...his, resource: { ...his.resource, deceasedDateTime: '2026-05-01T10:00:00+08:00' } };
      expect(buildGoldenPatient('g1', [hisSaysDead, lis, forged], rules).deceasedDateTime).to.equal('2026-05-01T10:00:00+08:00');
    });
    it('keeps the HIS phone and address over a newer forged feed\'s', () => {
      const g = buildGoldenPatient('g1', [his, forged], rules);
      expect(g.telecom).to.deep.equal(his.resource.telecom);
      expect(g.address).to.deep.equal(his.resource.address);
    });
    it('keeps deceased to HIS when the rules file leaves allowedSources out, and follows the rules file when it names others', () => {
      const { allowedSources: _shipped, ...withoutList } = rules.survivorship;
      expect(buildGoldenPatient('g1', [his, forged], { survivorship: withoutList })).to.not.have.property('deceasedBoolean');
      const labMayReport = { survivorship: { ...rules.survivorship, allowedSources: { deceased: ['HIS', 'other'] } } };
      expect(buildGoldenPatient('g1', [his, forged], labMayReport).deceasedBoolean).to.equal(true);
    });
    it('leaves out an element entirely when only systems outside its allowed list have it', () => {
      const contactFromHisOnly = { survivorship: { ...rules.survivorship, allowedSources: { telecom: ['HIS'] } } };
      const noPhoneHis = { ...his, resource: { ...his.resource, telecom: [] } };
      expect(buildGoldenPatient('g1', [noPhoneHis, forged], contactFromHisOnly)).to.not.have.property('telecom');
    });
  });
});
