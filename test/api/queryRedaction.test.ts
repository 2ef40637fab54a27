import { expect } from 'chai';
import { isSecretParameter, redactQuery } from '../../api/queryRedaction.ts';

describe('Query redaction for the audit trail', () => {
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

  it('replaces the values of credential parameters and keeps their names and everything else as sent', () => {
    expect(redactQuery(`name=Zhang%20San&access_token=abc.def&_count=10`)).to.equal('name=Zhang%20San&access_token=REDACTED&_count=10');
    expect(redactQuery('id_token=x&refresh_token=y&client_secret=z&password=p&api_key=k&X-Api-Key=k2&client_assertion=a&session=s'))
      .to.equal('id_token=REDACTED&refresh_token=REDACTED&client_secret=REDACTED&password=REDACTED&api_key=REDACTED&X-Api-Key=REDACTED&client_assertion=REDACTED&session=REDACTED');
  });

  it('recognises an encoded credential name and a JWT under any name', () => {
    expect(redactQuery('access%5Ftoken=abc')).to.equal('access%5Ftoken=REDACTED');
    expect(redactQuery(`subject=${jwt}&code=718-7`)).to.equal('subject=REDACTED&code=718-7');
  });

  it('leaves FHIR search parameters alone, code and identifier included', () => {
    const query = 'code=http%3A%2F%2Floinc.org%7C718-7&identifier=MRN100001&_security=R&subject:Patient.name=Li&_has:Encounter:patient:location=Location%2Fcardiology';
    expect(redactQuery(query)).to.equal(query);
    expect(isSecretParameter('code', '718-7')).to.equal(false);
  });

  it('keeps a bare flag, an empty query and a malformed escape as they are', () => {
    expect(redactQuery('')).to.equal('');
    expect(redactQuery('_pretty&token')).to.equal('_pretty&token');
    expect(redactQuery('name=%E0%A4%A&token=%zz')).to.equal('name=%E0%A4%A&token=REDACTED');
  });
});
