import { residentIdCheckChar } from '../hub/mpi/chineseResidentId.ts';
import { prng } from './mpiDataGenerator.ts';

/**
 * HL7v2 feeds for the ingest benchmarks: ADT^A01 admissions of distinct patients (HIS) and
 * ORU^R01 lab results for them (LIS), v2.5 with UTF-8 names, resident ID numbers, phones,
 * addresses, attending doctors and wards drawn from small pools, as a hospital's feed has.
 * Patient `n` is the same person whatever the run, so results can be sent for seeded patients.
 */
const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤'.split('');
const GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华建国文辉力鹏宇浩然子轩梓涵一诺欣怡佳琪思雨嘉俊晨博雅婷志红玉兰春梅海燕小林云飞龙凤金德福'.split('');
const WARDS = ['WARD1', 'WARD2', 'WARD3', 'ICU', 'CARD', 'ORTHO', 'NEURO', 'PED'];
const DOCTORS = Array.from({ length: 40 }, (_, i) => `D${String(i + 1).padStart(4, '0')}^DOC^${i + 1}^^^DR`);
const DISTRICTS = ['朝阳区', '海淀区', '东城区', '西城区', '浦东新区', '徐汇区', '天河区', '南山区'];
const REGIONS = ['110101', '110105', '110108', '310101', '310115', '440103', '440305', '510107'];
const LABS: Array<[string, string, string, number, number]> = [
  ['718-7', 'Hemoglobin', 'g/dL', 11, 17], ['2345-7', 'Glucose', 'mmol/L', 3.5, 9], ['2160-0', 'Creatinine', 'umol/L', 50, 130],
  ['6690-2', 'WBC', '10*9/L', 3.5, 11], ['777-3', 'Platelets', '10*9/L', 120, 400], ['2951-2', 'Sodium', 'mmol/L', 133, 147],
];

export interface SyntheticPatient {
  mrn: string;
  family: string;
  given: string;
  birth: string;
  sex: 'M' | 'F';
  idCard: string;
  phone: string;
}

export function syntheticPatient(n: number, seed = 7): SyntheticPatient {
  const r = prng(seed * 1_000_003 + n);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const y = 1930 + Math.floor(r() * 91), m = 1 + Math.floor(r() * 12), d = 1 + Math.floor(r() * 28);
  const birth = `${y}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}`;
  const sex = r() < 0.5 ? 'M' : 'F';
  const family = r() < 0.4 ? SURNAMES[Math.floor(r() * 10)]! : pick(SURNAMES);
  const given = r() < 0.3 ? pick(GIVEN) : pick(GIVEN) + pick(GIVEN);
  const seq = String((n % 499) * 2 + (sex === 'M' ? 1 : 0)).padStart(3, '0');
  const first17 = `${pick(REGIONS)}${birth}${seq}`;
  return {
    mrn: `MRN${String(n).padStart(8, '0')}`, family, given, birth, sex, idCard: first17 + residentIdCheckChar(first17),
    phone: `1${pick(['3', '5', '7', '8', '9'])}${String(Math.floor(r() * 1e9)).padStart(9, '0')}`,
  };
}

const ts = (t: Date) => t.toISOString().replace(/[-:T]/g, '').slice(0, 14) + '+0000';

export function adtA01(n: number, at = new Date(Date.UTC(2026, 10, 1) + n * 1000)): string {
  const p = syntheticPatient(n);
  const r = prng(n * 31 + 5);
  const ward = WARDS[n % WARDS.length]!;
  const doctor = DOCTORS[Math.floor(r() * DOCTORS.length)]!;
  return [
    `MSH|^~\\&|HIS|DEMO_HOSP|HUB|DEMO_HOSP|${ts(at)}||ADT^A01^ADT_A01|HISA${n}|P|2.5||||||UNICODE UTF-8`,
    `EVN|A01|${ts(at)}`,
    `PID|1||${p.mrn}^^^DEMO_HOSP&2.16.840.1.113883.19.5&ISO^MR~${p.idCard}^^^CHN_NHC^NI||${p.family}^${p.given}^^^^^L||${p.birth}|${p.sex}|||${1 + (n % 300)}号 ${DISTRICTS[n % DISTRICTS.length]}^^北京^BJ^100020^CN^H||^PRN^CP^^86^${p.phone.slice(0, 3)}^${p.phone.slice(3)}`,
    `PV1|1|I|${ward}^${100 + (n % 50)}^0${1 + (n % 4)}^DEMO_HOSP||||${doctor}^^^DEMO_HOSP|||MED||||7|||${doctor}^^^DEMO_HOSP|IP|VN${n}^^^DEMO_HOSP^VN|||||||||||||||||||||||||${ts(at)}`,
  ].join('\r');
}

/** Results for patient `n` (known to the LIS by its own MRN and the resident ID), `tests` OBX. */
export function oruR01(n: number, order: number, tests = 6, at = new Date(Date.UTC(2026, 10, 2) + n * 1000 + order)): string {
  const p = syntheticPatient(n);
  const r = prng(n * 131 + order);
  const obx = Array.from({ length: tests }, (_, i) => {
    const [code, name, unit, lo, hi] = LABS[i % LABS.length]!;
    const value = (lo + r() * (hi - lo) * 1.2).toFixed(1);
    const flag = Number(value) > hi ? 'H' : Number(value) < lo ? 'L' : 'N';
    return `OBX|${i + 1}|NM|${code}^${name}^LN||${value}|${unit}|${lo}-${hi}|${flag}|||F|||${ts(at)}`;
  });
  return [
    `MSH|^~\\&|LIS|DEMO_HOSP|HUB|DEMO_HOSP|${ts(at)}||ORU^R01^ORU_R01|LISR${n}-${order}|P|2.5.1||||||UNICODE UTF-8`,
    `PID|1||L${String(n).padStart(8, '0')}^^^DEMO_LIS^MR~${p.idCard}^^^CHN_NHC^NI||${p.family}^${p.given}||${p.birth}|${p.sex}`,
    `ORC|RE|ORD${n}-${order}|FIL${n}-${order}`,
    `OBR|1|ORD${n}-${order}|FIL${n}-${order}|24323-8^Comprehensive metabolic panel^LN|||${ts(at)}|||||||||||||||||||F`,
    ...obx,
  ].join('\r');
}
