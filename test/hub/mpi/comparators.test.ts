import { expect } from 'chai';
import { birthDateOfResidentId, isValidResidentId, residentIdCheckChar } from '../../../hub/mpi/chineseResidentId.ts';
import {
  addressSimilarity, compareAddresses, compareBirthDates, compareIdentifiers, compareNames, comparePhones, compareSex,
} from '../../../hub/mpi/fieldComparators.ts';
import { jaroWinkler } from '../../../hub/mpi/jaroWinkler.ts';
import { nameForm, nameFormsOf } from '../../../hub/mpi/nameForms.ts';
import { normalizePhone } from '../../../hub/mpi/patientFeatures.ts';
import { soundex } from '../../../hub/mpi/soundex.ts';

const forms = (...pairs: Array<[string, string]>) => pairs.map(([f, g]) => nameForm(f, g)!);

describe('MPI comparators', () => {
  describe('Chinese resident identity number', () => {
    it('accepts numbers whose MOD 11-2 check character and embedded birth date are right, X included', () => {
      expect(isValidResidentId('110101199003077774')).to.equal(true);
      expect(isValidResidentId('11010519491231002x')).to.equal(true);
      expect(residentIdCheckChar('11010519491231002')).to.equal('X');
    });
    it('refuses a single mistyped digit, a wrong length and an impossible birth date', () => {
      expect(isValidResidentId('110101199003077784')).to.equal(false);
      expect(isValidResidentId('11010119900307777')).to.equal(false);
      const first17 = '11010119900230777'; // 30 February
      expect(isValidResidentId(first17 + residentIdCheckChar(first17))).to.equal(false);
      expect(birthDateOfResidentId('110101199003077774')).to.equal('1990-03-07');
    });
  });

  describe('identifier', () => {
    const id = (value: string, valid = true, system = 's') => ({ kind: 'nationalId', system, value, valid });
    it('is exact on the same value, different for two valid values, and no evidence when one was mistyped', () => {
      expect(compareIdentifiers([id('A')], [id('A')], 'nationalId', false)).to.equal('exact');
      expect(compareIdentifiers([id('110101199003077774')], [id('11010519851120002X')], 'nationalId', false)).to.equal('different');
      expect(compareIdentifiers([id('110101199003077774')], [id('110101199003077784', false)], 'nationalId', false)).to.equal('close');
      expect(compareIdentifiers([id('110101199003077774')], [id('999101199003000000', false)], 'nationalId', false)).to.equal(undefined);
    });
    it('compares MRNs only within one assigning authority', () => {
      const mrn = (system: string, value: string) => ({ kind: 'mrn', system, value, valid: true });
      expect(compareIdentifiers([mrn('hospA', '1')], [mrn('hospB', '2')], 'mrn', true)).to.equal(undefined);
      expect(compareIdentifiers([mrn('hospA', '1')], [mrn('hospA', '2')], 'mrn', true)).to.equal('different');
      expect(compareIdentifiers([mrn('hospA', '1')], [mrn('hospB', '1')], 'mrn', false)).to.equal('exact');
    });
    it('answers nothing when either side has no identifier of that kind', () => {
      expect(compareIdentifiers([], [id('A')], 'nationalId', false)).to.equal(undefined);
    });
  });

  describe('name', () => {
    it('matches characters with their pinyin, in any case and spacing', () => {
      expect(compareNames(forms(['张', '三丰']), forms(['ZHANG', 'SAN FENG']))).to.equal('pinyin');
      expect(compareNames(forms(['张', '三丰']), forms(['张', '三丰']))).to.equal('exact');
      expect(compareNames(forms(['Smith', 'John']), forms(['SMITH', 'john']))).to.equal('exact');
    });
    it('reads polyphonic surnames as surnames (单 is Shan, 曾 is Zeng)', () => {
      expect(nameForm('单', '雄')!.family).to.equal('shan');
      expect(nameForm('曾', '广')!.family).to.equal('zeng');
    });
    it('recognises given and family swapped', () => {
      expect(compareNames(forms(['San', 'Zhang']), forms(['张', '三']))).to.equal('swapped');
    });
    it('grades typos by Jaro-Winkler and sound, and tells different names apart', () => {
      expect(compareNames(forms(['Zhang', 'Xiaoming']), forms(['Zhang', 'Xiaoming'.replace('m', 'n')]))).to.equal('similar');
      expect(compareNames(forms(['Smith', 'Jon']), forms(['Smyth', 'John']))).to.equal('similar');
      expect(compareNames(forms(['Wang', 'Wei']), forms(['Wang', 'Fang']))).to.equal('partial');
      expect(compareNames(forms(['Li', 'Si']), forms(['Zhou', 'Qiang']))).to.equal('different');
    });
    it('takes the best pair over all names a record carries and skips old names', () => {
      const a = nameFormsOf([{ family: '张', given: ['三'] }, { use: 'old', family: 'Old', given: ['Name'] }]);
      expect(a).to.have.length(1);
      expect(compareNames(a, forms(['Other', 'Name'], ['zhang', 'san']))).to.equal('pinyin');
    });
    it('splits a text-only Han name family-first', () => {
      expect(nameFormsOf([{ text: '王小明' }])[0]).to.include({ family: 'wang', given: 'xiaoming' });
    });
  });

  describe('birth date', () => {
    it('separates exact, day/month transposed, year off by one, one-digit typo and different', () => {
      expect(compareBirthDates('1990-03-07', '1990-03-07')).to.equal('exact');
      expect(compareBirthDates('1990-03-07', '1990-07-03')).to.equal('transposed');
      expect(compareBirthDates('1990-03-07', '1991-03-07')).to.equal('yearOff');
      expect(compareBirthDates('1990-03-07', '1990-03-01')).to.equal('close');
      expect(compareBirthDates('1990-03-07', '1972-11-25')).to.equal('different');
      expect(compareBirthDates(undefined, '1990-03-07')).to.equal(undefined);
    });
  });

  describe('sex, phone, address', () => {
    it('compares sex only when both are known', () => {
      expect(compareSex('male', 'male')).to.equal('exact');
      expect(compareSex('male', 'female')).to.equal('different');
      expect(compareSex(undefined, 'female')).to.equal(undefined);
    });
    it('normalises phone numbers across country-code spellings', () => {
      expect(normalizePhone('+86 138 0013 8000')).to.equal('13800138000');
      expect(normalizePhone('0086-13800138000')).to.equal('13800138000');
      expect(comparePhones([normalizePhone('8613800138000')], ['13800138000'])).to.equal('exact');
      expect(comparePhones(['13800138000'], ['13900139000'])).to.equal('different');
    });
    it('scores addresses by character overlap', () => {
      expect(addressSimilarity('朝阳路 1', '朝阳路 1')).to.equal(1);
      expect(compareAddresses(['北京市朝阳区朝阳路1'], ['北京市朝阳区朝阳路12'])).to.equal('exact');
      expect(compareAddresses(['朝阳区建国路88号院3'], ['朝阳区建国路88'])).to.equal('similar');
      expect(compareAddresses(['海淀区中关村大街'], ['浦东新区世纪大道'])).to.equal('different');
    });
  });

  describe('string measures', () => {
    it('computes Jaro-Winkler like the textbook examples', () => {
      expect(jaroWinkler('MARTHA', 'MARHTA')).to.be.closeTo(0.961, 0.001);
      expect(jaroWinkler('DWAYNE', 'DUANE')).to.be.closeTo(0.84, 0.001);
      expect(jaroWinkler('abc', '')).to.equal(0);
    });
    it('computes Soundex codes', () => {
      expect(soundex('Robert')).to.equal('R163');
      expect(soundex('Rupert')).to.equal('R163');
      expect(soundex('Ashcraft')).to.equal('A261');
      expect(soundex('Tymczak')).to.equal('T522');
    });
  });
});
