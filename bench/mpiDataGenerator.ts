import type { Patient } from 'fhir/r4.js';
import { pinyin } from 'pinyin-pro';
import { residentIdCheckChar } from '../hub/mpi/chineseResidentId.ts';

/**
 * A labelled, synthetic patient population for the MPI benchmark: persons with Chinese (and
 * some Western) names, resident ID numbers, phones and addresses, each appearing as 1-4 source
 * records (HIS, LIS, PACS, other) with the corruption real feeds show: typos, pinyin instead of
 * characters, family/given swapped, day/month transposed, year off by one, ID-card digit errors,
 * new phone or address, missing fields. Deterministic for a seed.
 */
export interface LabelledRecord { patient: Patient & { id: string }; person: number }

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤'.split('');
const GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华建国文辉力鹏宇浩然子轩梓涵一诺欣怡佳琪思雨嘉俊晨博雅婷志红玉兰春梅海燕小林云飞龙凤金德福'.split('');
const WESTERN_FAMILY = ['Smith', 'Johnson', 'Brown', 'Taylor', 'Miller', 'Wilson', 'Moore', 'Anderson', 'Thomas', 'Jackson', 'White', 'Harris', 'Martin', 'Thompson', 'Garcia', 'Martinez', 'Robinson', 'Clark', 'Lewis', 'Walker'];
const WESTERN_GIVEN = ['James', 'John', 'Robert', 'Michael', 'William', 'David', 'Mary', 'Patricia', 'Jennifer', 'Linda', 'Elizabeth', 'Susan', 'Jessica', 'Sarah', 'Karen', 'Daniel', 'Paul', 'Mark', 'Anna', 'Emily'];
const REGIONS = ['110101', '110105', '110108', '310101', '310115', '440103', '440305', '510107', '330106', '320102', '420102', '610113'];
const DISTRICTS = ['朝阳区', '海淀区', '东城区', '西城区', '浦东新区', '徐汇区', '天河区', '南山区', '武侯区', '西湖区'];
const STREETS = ['建国路', '中关村大街', '长安街', '人民路', '解放路', '世纪大道', '南京路', '中山路', '和平街', '学院路', '花园路', '胜利街'];
const SOURCES = ['HIS', 'LIS', 'PACS', 'other'];

/** mulberry32: small, fast, seedable */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Person {
  han: boolean; family: string; given: string; birth: string; sex: 'male' | 'female';
  nationalId: string; phone: string; district: string; street: string; number: number;
}

function makePerson(r: () => number): Person {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const han = r() < 0.9;
  const y = 1930 + Math.floor(r() * 91), m = 1 + Math.floor(r() * 12), d = 1 + Math.floor(r() * 28);
  const birth = `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  const sex = r() < 0.5 ? 'male' : 'female';
  // surname frequencies are steep: the first ten cover a large share of people
  const family = han ? (r() < 0.4 ? SURNAMES[Math.floor(r() * 10)]! : pick(SURNAMES)) : pick(WESTERN_FAMILY);
  const given = han ? (r() < 0.3 ? pick(GIVEN) : pick(GIVEN) + pick(GIVEN)) : pick(WESTERN_GIVEN);
  let seq = Math.floor(r() * 500) * 2 + (sex === 'male' ? 1 : 0);
  if (seq > 999) seq -= 2;
  const first17 = `${pick(REGIONS)}${birth.replace(/-/g, '')}${String(seq).padStart(3, '0')}`;
  return {
    han, family, given, birth, sex, nationalId: first17 + residentIdCheckChar(first17),
    phone: `1${pick(['3', '5', '7', '8', '9'])}${String(Math.floor(r() * 1e9)).padStart(9, '0')}`,
    district: pick(DISTRICTS), street: pick(STREETS), number: 1 + Math.floor(r() * 300),
  };
}

function typo(text: string, r: () => number): string {
  if (text.length < 2) return text;
  const i = Math.floor(r() * (text.length - 1));
  const kind = r();
  if (kind < 0.33) return text.slice(0, i) + text[i + 1] + text[i] + text.slice(i + 2); // transpose
  if (kind < 0.66) return text.slice(0, i) + text.slice(i + 1); // drop
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  return text.slice(0, i) + letters[Math.floor(r() * 26)] + text.slice(i + 1); // substitute
}

function romanised(text: string): string {
  return pinyin(text, { toneType: 'none', type: 'array', v: true }).join('');
}

function record(p: Person, person: number, copy: number, r: () => number, id: string): Patient & { id: string } {
  const source = copy === 0 ? 'HIS' : SOURCES[Math.floor(r() * SOURCES.length)]!;
  const dirty = copy > 0;
  let family = p.family, given = p.given;
  let latin = !p.han;
  if (dirty && p.han && r() < 0.35) { family = romanised(family).toUpperCase(); given = romanised(given).toUpperCase(); latin = true; }
  if (dirty && latin && r() < 0.15) { family = typo(family.toLowerCase(), r); }
  if (dirty && latin && r() < 0.15) { given = typo(given.toLowerCase(), r); }
  if (dirty && latin && r() < 0.05) [family, given] = [given, family];
  if (dirty && !latin && r() < 0.03) given = given.slice(0, 1); // a dropped character
  let birth: string | undefined = p.birth;
  if (dirty) {
    const x = r();
    if (x < 0.04 && Number(p.birth.slice(8)) <= 12) birth = `${p.birth.slice(0, 4)}-${p.birth.slice(8, 10)}-${p.birth.slice(5, 7)}`;
    else if (x < 0.07) birth = `${Number(p.birth.slice(0, 4)) + (r() < 0.5 ? 1 : -1)}${p.birth.slice(4)}`;
    else if (x < 0.10) birth = `${p.birth.slice(0, 9)}${(Number(p.birth[9]) + 1) % 10}`.replace(/-00$/, '-01');
    else if (x < 0.13) birth = undefined;
  }
  let nationalId: string | undefined = p.nationalId;
  if (dirty && r() < (source === 'HIS' ? 0.1 : 0.45)) nationalId = undefined;
  else if (dirty && r() < 0.06) {
    const i = 6 + Math.floor(r() * 11);
    nationalId = nationalId.slice(0, i) + String((Number(nationalId[i]) + 1 + Math.floor(r() * 8)) % 10) + nationalId.slice(i + 1);
  }
  let phone: string | undefined = p.phone;
  if (dirty && r() < 0.2) phone = `1${Math.floor(3 + r() * 6)}${String(Math.floor(r() * 1e9)).padStart(9, '0')}`;
  else if (dirty && r() < 0.3) phone = undefined;
  else if (dirty && r() < 0.3) phone = `+86 ${phone.slice(0, 3)} ${phone.slice(3, 7)} ${phone.slice(7)}`;
  let line: string | undefined = `${p.street}${p.number}号`;
  let district = p.district;
  if (dirty && r() < 0.2) { line = `${STREETS[Math.floor(r() * STREETS.length)]}${1 + Math.floor(r() * 300)}号`; district = DISTRICTS[Math.floor(r() * DISTRICTS.length)]!; }
  else if (dirty && r() < 0.3) line = undefined;
  const sex = dirty && r() < 0.05 ? undefined : p.sex;
  const NI = { coding: [{ code: 'NI' }] }, MR = { coding: [{ code: 'MR' }] };
  return {
    resourceType: 'Patient', id,
    meta: { source: `urn:hub:identifier/source/${source}#${id}` },
    identifier: [
      { type: MR, system: `urn:mrn:${source}`, value: `${source}-${person}-${copy}` },
      ...(nationalId ? [{ type: NI, system: 'urn:hub:identifier/CHN_NHC', value: nationalId }] : []),
    ],
    name: [{ family, given: [given] }],
    ...(birth ? { birthDate: birth } : {}),
    ...(sex ? { gender: sex } : {}),
    ...(phone ? { telecom: [{ system: 'phone' as const, value: phone }] } : {}),
    ...(line ? { address: [{ line: [line], district, city: '北京' }] } : {}),
  };
}

/** About `count` records; each person has 1 record (55%), 2 (25%), 3 (15%) or 4 (5%). */
export function* generateLabelledPatients(count: number, seed = 42): Generator<LabelledRecord> {
  const r = prng(seed);
  let made = 0;
  for (let person = 0; made < count; person += 1) {
    const p = makePerson(r);
    const x = r();
    const copies = x < 0.55 ? 1 : x < 0.8 ? 2 : x < 0.95 ? 3 : 4;
    for (let c = 0; c < copies && made < count; c += 1, made += 1) {
      yield { patient: record(p, person, c, r, `r${made}`), person };
    }
  }
}
