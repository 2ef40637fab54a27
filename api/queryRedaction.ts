/**
 * Query strings as the audit trail keeps them: a credential a client put in the URL
 * (`?access_token=`, an API key, a JWT under any name) must not end up readable by everyone
 * who may read AuditEvents. The parameter stays, so the trail shows that one was sent.
 */
export const REDACTED = 'REDACTED';

// names of parameters that carry credentials; FHIR search parameters (code, identifier...) never match
const SECRET_NAME = /token|secret|passw(or)?d|api[-_]?key|assertion|authori[sz]ation|session|credential/i;
// a JWT (header.payload[.signature], base64url JSON) under any name
const JWT_LIKE = /^eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(\.[A-Za-z0-9_-]*)?$/;

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

export function isSecretParameter(name: string, value: string): boolean {
  return SECRET_NAME.test(name) || JWT_LIKE.test(value.trim());
}

/** The raw query (without `?`) with the values of credential parameters replaced; everything else as sent. */
export function redactQuery(query: string): string {
  if (!query) return query;
  return query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    if (eq < 0) return pair;
    const name = decoded(pair.slice(0, eq));
    return isSecretParameter(name, decoded(pair.slice(eq + 1))) ? `${pair.slice(0, eq)}=${REDACTED}` : pair;
  }).join('&');
}
