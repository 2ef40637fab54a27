import { expect } from 'chai';
import { blockingKeys } from '../../../hub/mpi/blockingKeys.ts';
import { residentIdCheckChar } from '../../../hub/mpi/chineseResidentId.ts';
import { loadMatchRules, parseMatchRules } from '../../../hub/mpi/matchRules.ts';
import { scorePair } from '../../../hub/mpi/matchScorer.ts';
import { patientFeatures } from '../../../hub/mpi/patientFeatures.ts';
import { liSiHis, patient, zhangSanHis, zhangSanLis, zhangSanPacs } from './patientFixtures.ts';

const rules = loadMatchRules();
const f = (p: ReturnType<typeof patient>) => patientFeatures(p, rules);

describe('MPI rules, scoring and blocking', () => {
  describe('the rules file', () => {
    it('loads config/mpi-rules.yaml with schema defaults applied', () => {
      expect(rules.thresholds.autoMerge).to.be.greaterThan(rules.thresholds.review);
      expect(rules.blocking.maxCandidates).to.be.a('number');
      expect(rules.fields.map((x) => x.comparator)).to.include.members(['identifier', 'name', 'birthDate', 'sex', 'phone', 'address']);
    });
    it('refuses an unknown comparator, naming the key', () => {
      const bad = structuredClone(rules) as unknown as { fields: Array<{ comparator: string }> };
      bad.fields[0]!.comparator = 'soundsLike';
      expect(() => parseMatchRules(bad)).to.throw(/fields\[0\]\.comparator must be one of/);
    });
    it('refuses a level the comparator never produces and an m outside (0,1)', () => {
      const bad = structuredClone(rules);
      bad.fields.find((x) => x.comparator === 'sex')!.levels = { transposed: { m: 0.5, u: 0.5 } };
      expect(() => parseMatchRules(bad)).to.throw(/is not an outcome of the sex comparator/);
      const bad2 = structuredClone(rules);
      bad2.fields[0]!.levels.exact = { m: 1.5, u: 0.1 };
      expect(() => parseMatchRules(bad2)).to.throw(/MPI rules/);
    });
    it('refuses a review threshold above the auto-merge threshold', () => {
      const bad = structuredClone(rules);
      bad.thresholds = { autoMerge: 5, review: 10 };
      expect(() => parseMatchRules(bad)).to.throw(/thresholds.review/);
    });
  });

  describe('Fellegi–Sunter score', () => {
    it('auto-merges HIS and LIS records of one person (same ID card, name, birth date, phone)', () => {
      const s = scorePair(f(zhangSanHis()), f(zhangSanLis()), rules);
      expect(s.classification).to.equal('MATCH');
      expect(s.fields.find((x) => x.field === 'nationalId')).to.include({ level: 'exact' });
      expect(s.fields.find((x) => x.field === 'mrn')).to.not.have.property('level'); // different authorities: no evidence
    });
    it('links the PACS record typed in pinyin with day and month transposed, by phone', () => {
      const s = scorePair(f(zhangSanLis()), f(zhangSanPacs()), rules);
      expect(s.fields.find((x) => x.field === 'name')).to.include({ level: 'pinyin' });
      expect(s.fields.find((x) => x.field === 'birthDate')).to.include({ level: 'transposed' });
      expect(s.classification).to.equal('MATCH');
    });
    it('queues for review when only name and birth date agree', () => {
      const a = patient({ id: 'a', family: '王', given: '伟', birthDate: '1980-01-01', gender: 'male' });
      const b = patient({ id: 'b', family: 'Wang', given: 'Wei', birthDate: '1980-01-01' });
      expect(scorePair(f(a), f(b), rules).classification).to.equal('POSSIBLE_MATCH');
    });
    it('keeps two people with the same name and birth date but different ID cards apart', () => {
      const a = patient({ id: 'a', family: '王', given: '伟', birthDate: '1980-01-01', gender: 'male', nationalId: withCheck('11010119800101001') });
      const b = patient({ id: 'b', family: '王', given: '伟', birthDate: '1980-01-01', gender: 'male', nationalId: withCheck('11010519800101003') });
      expect(isValid(a) && isValid(b)).to.equal(true);
      expect(scorePair(f(a), f(b), rules).classification).to.not.equal('MATCH');
    });
    it('does not link different people', () => {
      const s = scorePair(f(zhangSanHis()), f(liSiHis()), rules);
      expect(s.classification).to.equal('NO_MATCH');
      expect(s.score).to.be.lessThan(0);
    });
    it('explains every field with its level, weight and m/u, and the thresholds', () => {
      const s = scorePair(f(zhangSanHis()), f(zhangSanLis()), rules);
      expect(s.fields).to.have.length(rules.fields.length);
      const dob = s.fields.find((x) => x.field === 'birthDate')!;
      expect(dob.weight).to.be.closeTo(Math.log2(dob.m! / dob.u!), 0.001);
      expect(s.thresholds).to.deep.equal(rules.thresholds);
      expect(s.score).to.be.closeTo(s.fields.reduce((t, x) => t + x.weight, 0), 0.01);
    });
  });

  describe('blocking keys', () => {
    it('gives records of one person a shared key even across scripts and transposed dates', () => {
      const his = new Set(blockingKeys(f(zhangSanHis()), rules));
      expect(blockingKeys(f(zhangSanPacs()), rules).some((k) => his.has(k))).to.equal(true);
      expect(blockingKeys(f(zhangSanLis()), rules).some((k) => his.has(k))).to.equal(true);
    });
    it('gives unrelated people no shared key', () => {
      const his = new Set(blockingKeys(f(zhangSanHis()), rules));
      expect(blockingKeys(f(liSiHis()), rules).filter((k) => his.has(k))).to.deep.equal([]);
    });
    it('does not block on a national ID that fails its checksum', () => {
      const p = patient({ id: 'x', nationalId: '110101199003077784' });
      expect(blockingKeys(f(p), rules).filter((k) => k.includes('nationalId'))).to.deep.equal([]);
    });
  });
});

function isValid(p: ReturnType<typeof patient>): boolean {
  return patientFeatures(p, rules).identifiers.every((i) => i.valid);
}

function withCheck(first17: string): string {
  return first17 + residentIdCheckChar(first17);
}
