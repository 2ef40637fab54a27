import type { Patient } from 'fhir/r4.js';

/** Small Patient builders for MPI tests: one person as HIS, LIS and PACS would each send them. */
export type TestPatient = Patient & { id: string };

const NI = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'NI' }] };
const MR = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] };

export interface PatientSpec {
  id: string;
  family?: string;
  given?: string;
  alias?: [string, string];
  birthDate?: string;
  gender?: Patient['gender'];
  phone?: string;
  nationalId?: string;
  mrn?: [string, string];
  line?: string;
  city?: string;
  source?: string;
}

export function patient(spec: PatientSpec): TestPatient {
  return {
    resourceType: 'Patient',
    id: spec.id,
    meta: { source: `urn:hub:identifier/source/${spec.source ?? 'HIS'}#${spec.id}` },
    identifier: [
      ...(spec.mrn ? [{ type: MR, system: spec.mrn[0], value: spec.mrn[1] }] : []),
      ...(spec.nationalId ? [{ type: NI, system: 'urn:hub:identifier/CHN_NHC', value: spec.nationalId }] : []),
    ],
    name: [
      ...(spec.family || spec.given ? [{ use: 'official' as const, family: spec.family, given: spec.given ? [spec.given] : [] }] : []),
      ...(spec.alias ? [{ use: 'nickname' as const, family: spec.alias[0], given: [spec.alias[1]] }] : []),
    ],
    ...(spec.birthDate ? { birthDate: spec.birthDate } : {}),
    ...(spec.gender ? { gender: spec.gender } : {}),
    ...(spec.phone ? { telecom: [{ system: 'phone' as const, value: spec.phone }] } : {}),
    ...(spec.line ? { address: [{ line: [spec.line], city: spec.city ?? '北京' }] } : {}),
  };
}

/** 张三 as the HIS admits him, the LIS spells him, and the PACS types him in pinyin. */
export const zhangSanHis = (id = 'his-zs') => patient({
  id, family: '张', given: '三', alias: ['ZHANG', 'SAN'], birthDate: '1990-03-07', gender: 'male', phone: '+86 138 0013 8000',
  nationalId: '110101199003077774', mrn: ['urn:oid:2.16.840.1.113883.19.5', 'MRN100001'], line: '朝阳路1号', source: 'HIS',
});
export const zhangSanLis = (id = 'lis-zs') => patient({
  id, family: '张', given: '三', birthDate: '1990-03-07', gender: 'male', phone: '13800138000',
  nationalId: '110101199003077774', mrn: ['urn:lis', 'L-5521'], source: 'LIS',
});
export const zhangSanPacs = (id = 'pacs-zs') => patient({
  id, family: 'Zhang', given: 'San', birthDate: '1990-07-03', gender: 'male', phone: '0086-13800138000',
  mrn: ['urn:pacs', 'P-77'], source: 'PACS',
});
export const liSiHis = (id = 'his-ls') => patient({
  id, family: '李', given: '四', birthDate: '1985-11-20', gender: 'female', phone: '13900139000',
  nationalId: '11010519851120002X', mrn: ['urn:oid:2.16.840.1.113883.19.5', 'MRN100002'], line: '海淀路8号', source: 'HIS',
});
