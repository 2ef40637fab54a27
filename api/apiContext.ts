import type { Logger } from '../hub/core/logger.ts';
import type { PatientIndexReader } from '../hub/mpi/patientIndexReader.ts';
import type { ResourceStore } from '../hub/store/resourceStore.ts';
import type { ApiLimits } from './apiLimits.ts';

/** What every route of the FHIR API works with. */
export interface ApiContext {
  store: ResourceStore;
  patients: PatientIndexReader;
  limits: ApiLimits;
  /** public base URL of the FHIR endpoint, for fullUrl and links */
  base: string;
  log: Logger;
}
