import type { Client } from 'fhir-kit-client';

export type FhirClient = Client;

/**
 * fhir-kit-client, unmodified, as a CRM front end would use it. It ships ESM only, so it is
 * imported dynamically (mocha loads test files through require).
 */
export async function fhirClient(baseUrl: string, bearerToken?: string): Promise<Client> {
  const { Client: ClientClass } = await import('fhir-kit-client');
  return new ClientClass({ baseUrl, ...(bearerToken ? { bearerToken } : {}) });
}

/** The HTTP status and body of a failed fhir-kit-client call. */
export function failureOf(err: unknown): { status: number; body: unknown } {
  const response = (err as { response?: { status?: number; data?: unknown } }).response;
  if (!response?.status) throw err;
  return { status: response.status, body: response.data };
}
