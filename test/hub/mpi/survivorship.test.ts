import { expect } from 'chai';
import { loadMatchRules } from '../../../hub/mpi/matchRules.ts';
import { buildGoldenPatient, isGoldenPatient, type GoldenSource } from '../../../hub/mpi/survivorship.ts';
import { zhangSanHis, zhangSanLis, zhangSanPacs } from './patientFixtures.ts';

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
  it('takes the telecom from the most recently updated source', () => {
    const g = buildGoldenPatient('g1', [his, lis, pacs], rules);
    expect(g.telecom?.[0]?.value).to.equal('0086-13800138000');
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
});
