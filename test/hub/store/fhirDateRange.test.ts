import { expect } from 'chai';
import { EARLIEST, fhirDateRange, LATEST, periodRange } from '../../../hub/store/fhirDateRange.ts';

describe('fhirDateRange', () => {
  it('covers the whole year, month or day a partial date names', () => {
    expect(fhirDateRange('1985')).to.deep.equal({ lo: '1985-01-01T00:00:00.000Z', hi: '1985-12-31T23:59:59.999Z' });
    expect(fhirDateRange('2024-02')).to.deep.equal({ lo: '2024-02-01T00:00:00.000Z', hi: '2024-02-29T23:59:59.999Z' });
    expect(fhirDateRange('1990-03-07')).to.deep.equal({ lo: '1990-03-07T00:00:00.000Z', hi: '1990-03-07T23:59:59.999Z' });
  });

  it('moves dateTimes with an offset to UTC and keeps their precision', () => {
    expect(fhirDateRange('2026-11-23T08:00:00+08:00')).to.deep.equal({ lo: '2026-11-23T00:00:00.000Z', hi: '2026-11-23T00:00:00.999Z' });
    expect(fhirDateRange('2026-02-10T09:30-08:00')).to.deep.equal({ lo: '2026-02-10T17:30:00.000Z', hi: '2026-02-10T17:30:59.999Z' });
    expect(fhirDateRange('2026-11-23T08:00:00.25Z')).to.deep.equal({ lo: '2026-11-23T08:00:00.250Z', hi: '2026-11-23T08:00:00.250Z' });
  });

  it('rejects what is not a FHIR date', () => {
    for (const text of ['yesterday', '2026-13-01', '2026-1-1', '20261123', '']) expect(fhirDateRange(text), text).to.equal(undefined);
  });

  it('opens a Period without an end (or start) to the latest (earliest) instant', () => {
    expect(periodRange('2026-11-23', undefined)).to.deep.equal({ lo: '2026-11-23T00:00:00.000Z', hi: LATEST });
    expect(periodRange(undefined, '2026-11-23')).to.deep.equal({ lo: EARLIEST, hi: '2026-11-23T23:59:59.999Z' });
    expect(periodRange(undefined, undefined)).to.equal(undefined);
  });
});
