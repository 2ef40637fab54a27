import { expect } from 'chai';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { parseHl7 } from '../../../hub/hl7v2/hl7Parser.ts';
import { mapHl7Message } from '../../../hub/mapping/mappingEngine.ts';
import { readMappings } from '../../../hub/mapping/mappingLoader.ts';
import type { DiagnosticReport, ImagingStudy, Observation, Patient, Specimen } from 'fhir/r4.js';
import { parseReferenceRange } from '../../../hub/mapping/valueTransforms.ts';
import { outputRuleViolations } from '../../../hub/pipeline/outputRuleChecks.ts';
import { expectGolden, fixtureText, mapText, resourcesOf, SETTINGS } from './fhirGolden.ts';

const LRI = 'LRI_2.0-NG_CBC_Typ_Message.hl7';

/** An ORU^R01 with `count` numeric results under one OBR, as a chemistry analyser sends them. */
function bigOru(count: number, controlId = 'BIG0001', status = 'F'): string {
  const obx = Array.from({ length: count }, (_, i) =>
    `OBX|${i + 1}|NM|T${String(i + 1).padStart(4, '0')}^Test ${i + 1}^L||${(i * 1.5).toFixed(1)}|mmol/L|1.0-${(i + 10).toFixed(1)}|${i % 7 === 0 ? 'H' : 'N'}|||${status}|||20261123080000+0800`);
  return [
    `MSH|^~\\&|LIS|DEMO_HOSP|HUB|DEMO_HOSP|20261123090000+0800||ORU^R01^ORU_R01|${controlId}|P|2.5.1`,
    'PID|1||MRN100001^^^DEMO_HOSP&2.16.840.1.113883.19.5&ISO^MR||张^三||19900307|M',
    'ORC|RE|PL-1^HIS|FL-1^LIS',
    `OBR|1|PL-1^HIS|FL-1^LIS|CHEM^Chemistry panel^L|||20261123070000+0800||||||||||||||||||${status}`,
    ...obx,
    'SPM|1|SP-1&HIS|SP-1F&LIS|SER^Serum^HL70487|||||||||||||20261123070000+0800|20261123073000+0800',
  ].join('\r');
}

describe('ORU^R01 mapping (laboratory)', () => {
  it('maps the NIST LRI CBC to one DiagnosticReport referencing its 28 Observations and the Specimen (golden)', () => {
    const out = mapText(fixtureText('lis', LRI));
    expectGolden('lis', LRI, out);
    const [report] = resourcesOf<DiagnosticReport>(out, 'DiagnosticReport');
    const observations = resourcesOf<Observation>(out, 'Observation');
    const [specimen] = resourcesOf<Specimen>(out, 'Specimen');
    expect(observations).to.have.length(28);
    expect(report!.result!.map((r) => r.reference)).to.deep.equal(observations.map((o) => `Observation/${o.id}`));
    expect(report!.specimen).to.deep.equal([{ reference: `Specimen/${specimen!.id}` }]);
    expect(report!.status).to.equal('final');
    expect(report!.code.coding![0]).to.deep.equal({ system: 'http://loinc.org', code: '57021-8', display: 'CBC W Auto Differential panel in Blood' });
    expect(specimen!.type!.coding![0]).to.include({ system: 'http://snomed.info/sct', code: '119297000' });
  });

  it('gives numeric results a UCUM Quantity, a reference range in the same unit and the abnormal flag', () => {
    const out = mapText(fixtureText('lis', LRI));
    const wbc = resourcesOf<Observation>(out, 'Observation').find((o) => o.code.coding![0]!.code === '26464-8')!;
    expect(wbc.valueQuantity).to.deep.equal({ value: 105600, unit: 'cells per microliter', system: 'http://unitsofmeasure.org', code: '{cells}/uL' });
    expect(wbc.referenceRange).to.deep.equal([{
      low: { value: 4300, unit: 'cells per microliter', system: 'http://unitsofmeasure.org', code: '{cells}/uL' },
      high: { value: 10800, unit: 'cells per microliter', system: 'http://unitsofmeasure.org', code: '{cells}/uL' },
      text: '4300 to 10800',
    }]);
    expect(wbc.interpretation![0]!.coding![0]).to.deep.include({ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: 'HH' });
    expect(wbc.effectiveDateTime).to.equal('2011-01-03T14:34:28-08:00');
    expect(wbc.category![0]!.coding![0]!.code).to.equal('laboratory');
  });

  it('maps coded (CWE) results to valueCodeableConcept and text (TX) results to valueString', () => {
    const obs = resourcesOf<Observation>(mapText(fixtureText('lis', LRI)), 'Observation');
    const aniso = obs.find((o) => o.code.coding![0]!.code === '38892-6')!;
    expect(aniso.valueCodeableConcept).to.deep.equal({
      coding: [{ system: 'http://snomed.info/sct', code: '260348001', display: 'Present ++ out of ++++' }],
      text: 'Moderate Anisocytosis',
    });
    expect(obs.find((o) => o.code.coding![0]!.code === '6742-1')!.valueString).to.equal('Many spherocytes present.');
  });

  it('reads an SN result "^182" with a local unit mg/dl as 182 mg/dL (UCUM) and the range 70_105 (golden)', () => {
    const out = mapText(fixtureText('lis', 'ORU-R01-RMGEAD.hl7'));
    expectGolden('lis', 'ORU-R01-RMGEAD.hl7', out);
    const [glucose] = resourcesOf<Observation>(out, 'Observation');
    // the patient index hears which source Patient the message was about
    expect(out.patient).to.equal(`Patient/${resourcesOf<Patient>(out, 'Patient')[0]!.id}`);
    expect(glucose!.valueQuantity).to.deep.equal({ value: 182, unit: 'mg/dl', system: 'http://unitsofmeasure.org', code: 'mg/dL' });
    expect(glucose!.referenceRange![0]).to.deep.include({ text: '70_105' });
    expect(glucose!.referenceRange![0]!.low!.value).to.equal(70);
    expect(glucose!.interpretation![0]!.coding![0]!.code).to.equal('H');
  });

  it('keeps two order groups apart: each report references only its own results and specimen (golden)', () => {
    const out = mapText(fixtureText('lis', 'LAB-ORU-1.hl7'));
    expectGolden('lis', 'LAB-ORU-1.hl7', out);
    const reports = resourcesOf<DiagnosticReport>(out, 'DiagnosticReport');
    expect(reports).to.have.length(2);
    const [first, second] = reports;
    expect(first!.result).to.have.length(5);
    expect(second!.result).to.have.length(5);
    expect(first!.result!.filter((r) => second!.result!.some((s) => s.reference === r.reference))).to.deep.equal([]);
    expect(first!.specimen![0]!.reference).to.not.equal(second!.specimen![0]!.reference);
    // OBX-11 "I" (specimen in lab, result pending) is registered, not final
    const pending = resourcesOf<Observation>(out, 'Observation').find((o) => o.code.coding![0]!.code === '11156-7')!;
    expect(pending.status).to.equal('registered');
    expect(pending.valueQuantity).to.equal(undefined);
  });

  it('reads SN comparators, ranges and ratios, and keeps text sent in a numeric field', () => {
    const text = [
      'MSH|^~\\&|LIS|H|HUB|H|20261123090000+0800||ORU^R01|SN0001|P|2.5.1',
      'PID|1||MRN9^^^H^MR||DOE^JANE||19700101|F',
      'OBR|1|PL-9^HIS|FL-9^LIS|PANEL^Panel^L|||20261123070000+0800||||||||||||||||||F',
      'OBX|1|SN|CRP^C reactive protein^L||<^0.5|mg/L^^UCUM|0-5||||F',
      'OBX|2|SN|RANGE^Cells in sediment^L||^2^-^5|/[HPF]^^UCUM|||||F',
      'OBX|3|SN|TITER^Antibody titer^L||^1^:^128||||||F',
      'OBX|4|NM|TROP^Troponin^L||<0.01|ng/mL|||||F',
    ].join('\r');
    const [crp, sediment, titer, trop] = resourcesOf<Observation>(mapText(text), 'Observation');
    expect(crp!.valueQuantity).to.deep.equal({ value: 0.5, comparator: '<', unit: 'mg/L', system: 'http://unitsofmeasure.org', code: 'mg/L' });
    expect(sediment!.valueRange).to.deep.equal({ low: { value: 2, unit: '/[HPF]' }, high: { value: 5, unit: '/[HPF]' } });
    expect(titer!.valueRatio).to.deep.equal({ numerator: { value: 1 }, denominator: { value: 128 } });
    expect(trop!.valueQuantity).to.equal(undefined);
    expect(trop!.valueString).to.equal('<0.01');
  });

  it('maps a 120-OBX message to 120 Observations with distinct ids that pass every rule', () => {
    const out = mapText(bigOru(120));
    const observations = resourcesOf<Observation>(out, 'Observation');
    expect(observations).to.have.length(120);
    expect(new Set(observations.map((o) => o.id)).size).to.equal(120);
    expect(resourcesOf<DiagnosticReport>(out, 'DiagnosticReport')[0]!.result).to.have.length(120);
    expect(outputRuleViolations(out.resources.map((r) => r.resource))).to.deep.equal([]);
    expect(observations[3]!.valueQuantity).to.deep.equal({ value: 4.5, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' });
  });

  it('gives a corrected or final resend the same ids as the preliminary, so results update in place', () => {
    const prelim = mapText(bigOru(5, 'P0001', 'P'));
    const final = mapText(bigOru(5, 'F0001', 'F'));
    expect(final.resources.map((r) => r.resource.id)).to.deep.equal(prelim.resources.map((r) => r.resource.id));
    expect(resourcesOf<Observation>(prelim, 'Observation')[0]!.status).to.equal('preliminary');
    expect(resourcesOf<Observation>(final, 'Observation')[0]!.status).to.equal('final');
    expect(prelim.eventTime).to.equal('2026-11-23T01:00:00.000Z');
  });

  it('gives different ids to reports whose placer numbers match but whose placer authorities differ', () => {
    const base = fixtureText('lis', 'ORU-R01-RMGEAD.hl7');
    const other = base.replace('OBR|1|845439^GHH OE|1045813^GHH LAB', 'OBR|1|845439^OTHER OE|1045813^GHH LAB');
    const a = mapText(base);
    const b = mapText(other);
    expect(resourcesOf<DiagnosticReport>(a, 'DiagnosticReport')[0]!.id).to.not.equal(resourcesOf<DiagnosticReport>(b, 'DiagnosticReport')[0]!.id);
    expect(resourcesOf<Observation>(a, 'Observation')[0]!.id).to.not.equal(resourcesOf<Observation>(b, 'Observation')[0]!.id);
  });
});

describe('ORU^R01 mapping with a site table of local lab codes', () => {
  it('adds the LOINC coding from the site lab-codes-loinc table and keeps the local one', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hub-mappings-'));
    try {
      cpSync(path.join(PROJECT_ROOT, 'mappings'), dir, { recursive: true });
      const siteCodemaps = path.join(dir, 'sites', 'labsite', 'hl7v2', 'codemaps');
      mkdirSync(siteCodemaps, { recursive: true });
      writeFileSync(path.join(siteCodemaps, 'lab-codes-loinc.yaml'), [
        'kind: codemap', 'caseSensitive: true', 'map:',
        '  "L|T0001": {system: http://loinc.org, code: 2345-7, display: Glucose}',
        'default: null', '',
      ].join('\n'));
      const { registry, problems } = readMappings(dir, 'labsite');
      expect(problems).to.deep.equal([]);
      const out = mapHl7Message(parseHl7(bigOru(2)), { sourceSystem: 'LIS', connectorId: 'lis', receivedAt: '2026-11-23T00:00:00Z' }, registry, SETTINGS);
      const [mapped, unmapped] = resourcesOf<Observation>(out, 'Observation');
      expect(mapped!.code.coding).to.deep.equal([
        { system: 'urn:hub:identifier/codesystem/L', code: 'T0001', display: 'Test 1' },
        { system: 'http://loinc.org', code: '2345-7', display: 'Glucose' },
      ]);
      expect(unmapped!.code.coding).to.have.length(1);
      expect(out.warnings.filter((w) => w.includes('lab-codes-loinc'))).to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ORU^R01 mapping (radiology)', () => {
  it('turns a report with a ZDS study UID into a DiagnosticReport with conclusion and an ImagingStudy (golden)', () => {
    const out = mapText(fixtureText('pacs', 'oru-r01-chest-xray-zds.hl7'), 'PACS');
    expectGolden('pacs', 'oru-r01-chest-xray-zds.hl7', out);
    const [report] = resourcesOf<DiagnosticReport>(out, 'DiagnosticReport');
    const [study] = resourcesOf<ImagingStudy>(out, 'ImagingStudy');
    expect(resourcesOf<Observation>(out, 'Observation')).to.deep.equal([]);
    expect(study!.identifier![0]).to.deep.equal({ system: 'urn:dicom:uid', value: 'urn:oid:1.2.840.113619.2.55.3.604688119.969.1268071029.320' });
    expect(report!.imagingStudy).to.deep.equal([{ reference: `ImagingStudy/${study!.id}` }]);
    expect(report!.conclusion).to.equal('No focal consolidation.\nHeart size normal.\nNo acute cardiopulmonary process.');
    expect(Buffer.from(report!.presentedForm![0]!.data!, 'base64').toString('utf8')).to.equal(report!.conclusion);
    expect(report!.category![0]!.coding![0]!.code).to.equal('RAD');
    expect(report!.resultsInterpreter).to.deep.equal([{ identifier: { value: '5678' }, display: 'SI LI' }]);
  });

  it('finds the study UID in an OBX coded DCM 113014 when there is no ZDS, and keeps it out of the text (golden)', () => {
    const out = mapText(fixtureText('pacs', 'oru-r01-ct-uid-in-obx.hl7'), 'PACS');
    expectGolden('pacs', 'oru-r01-ct-uid-in-obx.hl7', out);
    const [study] = resourcesOf<ImagingStudy>(out, 'ImagingStudy');
    const [report] = resourcesOf<DiagnosticReport>(out, 'DiagnosticReport');
    expect(study!.identifier![0]!.value).to.equal('urn:oid:1.2.840.113619.2.55.3.2831164356.781.1698723413.1');
    expect(study!.modality).to.deep.equal([{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT', display: 'Computed Tomography' }]);
    expect(report!.status).to.equal('preliminary');
    expect(report!.conclusion).to.equal('No intracranial haemorrhage.\nMild mucosal thickening of the maxillary sinus.');
  });

  it('gives the same ImagingStudy id to the same study UID whichever system reports it', () => {
    const text = fixtureText('pacs', 'oru-r01-chest-xray-zds.hl7');
    const fromPacs = resourcesOf<ImagingStudy>(mapText(text, 'PACS'), 'ImagingStudy')[0]!.id;
    const fromRis = resourcesOf<ImagingStudy>(mapText(text, 'RIS'), 'ImagingStudy')[0]!.id;
    expect(fromPacs).to.equal(fromRis);
  });

  it('does not treat a laboratory report without a study UID as imaging', () => {
    const out = mapText(fixtureText('lis', 'ORU-R01-RMGEAD.hl7'));
    expect(resourcesOf<ImagingStudy>(out, 'ImagingStudy')).to.deep.equal([]);
    expect(resourcesOf<DiagnosticReport>(out, 'DiagnosticReport')[0]!.conclusion).to.equal(undefined);
  });
});

describe('ORU^R01 mapping of bad data', () => {
  it('refuses an impossible result time, naming the mapping file and the path (for the dead-letter outcome)', () => {
    const text = bigOru(1).replace('||F|||20261123080000+0800', '||F|||20261399250000');
    let error: unknown;
    try {
      mapText(text);
    } catch (err) {
      error = err;
    }
    const detail = (error as { detail?: { mappingFile?: string; path?: string } }).detail;
    expect(detail?.mappingFile).to.equal('hl7v2/segments/OBX-Observation.yaml');
    expect(detail?.path).to.match(/effectiveDateTime/);
    expect((error as Error).message).to.include('invalid month (13)');
  });
});

describe('ORU^R01 mapping (several patients in one message)', () => {
  it('gives each PATIENT_RESULT group its own Patient, and each report and result the right subject', () => {
    const first = bigOru(2).split('\r').filter((l) => !l.startsWith('SPM'));
    const second = first.slice(1).map((l) => l
      .replace('MRN100001^^^DEMO_HOSP&2.16.840.1.113883.19.5&ISO^MR||张^三', 'MRN100002^^^DEMO_HOSP&2.16.840.1.113883.19.5&ISO^MR||李^四')
      .replaceAll('PL-1^HIS', 'PL-2^HIS').replaceAll('FL-1^LIS', 'FL-2^LIS'));
    const out = mapText([...first, ...second].join('\r'));
    const patients = resourcesOf<Patient>(out, 'Patient');
    expect(patients.map((p) => p.identifier![0]!.value)).to.deep.equal(['MRN100001', 'MRN100002']);
    const reports = resourcesOf<DiagnosticReport>(out, 'DiagnosticReport');
    expect(reports.map((r) => r.subject!.reference)).to.deep.equal(patients.map((p) => `Patient/${p.id}`));
    const observations = resourcesOf<Observation>(out, 'Observation');
    expect(observations.map((o) => o.subject!.reference)).to.deep.equal([
      `Patient/${patients[0]!.id}`, `Patient/${patients[0]!.id}`, `Patient/${patients[1]!.id}`, `Patient/${patients[1]!.id}`,
    ]);
    expect(out.patient).to.equal(undefined);
    expect(outputRuleViolations(out.resources.map((r) => r.resource))).to.deep.equal([]);
  });
});

describe('OBX-7 reference ranges as labs write them', () => {
  const cases: Array<[string, { low?: number; high?: number }]> = [
    ['3.5-5.1', { low: 3.5, high: 5.1 }],
    ['70_105', { low: 70, high: 105 }],
    ['4.3 to 6.2', { low: 4.3, high: 6.2 }],
    ['-2 - 2', { low: -2, high: 2 }],
    ['<5', { high: 5 }],
    ['<=0.04', { high: 0.04 }],
    ['>=60', { low: 60 }],
    ['negative', {}],
  ];
  for (const [text, bounds] of cases) {
    it(`reads "${text}" as ${JSON.stringify(bounds)} and keeps the text`, () => {
      const range = parseReferenceRange(text, 'mmol/L', 'mmol/L')!;
      expect(range.text).to.equal(text);
      expect(range.low?.value).to.equal(bounds.low);
      expect(range.high?.value).to.equal(bounds.high);
      if (range.low) expect(range.low).to.deep.include({ unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' });
    });
  }
});

describe('ORU^R01 mapping (older senders and documents)', () => {
  it('builds the Specimen from OBR-15 when a v2.3 sender has no SPM', () => {
    const text = [
      'MSH|^~\\&|LIS|H|HUB|H|20261123090000+0800||ORU^R01|V23001|P|2.3',
      'PID|1||MRN9^^^H^MR||DOE^JANE||19700101|F',
      'OBR|1|PL-23^HIS|FL-23^LIS|GLU^Glucose^L|||20261123070000+0800||||||||BLD&Blood&HL70070^^^ARM&Arm|||||||20261123080000+0800||CH|F',
      'OBX|1|NM|GLU^Glucose^L||5.4|mmol/L|3.9-6.1|N|||F',
    ].join('\r');
    const out = mapText(text);
    const [specimen] = resourcesOf<Specimen>(out, 'Specimen');
    expect(specimen!.type!.coding![0]).to.deep.include({ code: 'BLD', display: 'Blood' });
    expect(specimen!.collection!.bodySite!.coding![0]!.code).to.equal('ARM');
    expect(resourcesOf<Observation>(out, 'Observation')[0]!.specimen).to.deep.equal({ reference: `Specimen/${specimen!.id}` });
    expect(outputRuleViolations(out.resources.map((r) => r.resource))).to.deep.equal([]);
  });

  it('puts an encapsulated PDF report (OBX ED) into presentedForm instead of an Observation', () => {
    const pdf = Buffer.from('%PDF-1.4 lab report').toString('base64');
    const text = [
      'MSH|^~\\&|LIS|H|HUB|H|20261123090000+0800||ORU^R01|ED0001|P|2.5.1',
      'PID|1||MRN9^^^H^MR||DOE^JANE||19700101|F',
      'OBR|1|PL-24^HIS|FL-24^LIS|PATH^Pathology report^L|||20261123070000+0800||||||||||||||||||F',
      `OBX|1|ED|PDF^Report^L||LIS^AP^PDF^Base64^${pdf}||||||F`,
    ].join('\r');
    const out = mapText(text);
    const [report] = resourcesOf<DiagnosticReport>(out, 'DiagnosticReport');
    expect(resourcesOf<Observation>(out, 'Observation')).to.deep.equal([]);
    expect(report!.presentedForm).to.deep.equal([{ contentType: 'application/pdf', data: pdf, title: 'Report' }]);
    expect(report!.result).to.equal(undefined);
  });
});
