/**
 * Read side of the master patient index, for the API and the pipeline. Source Patients are the
 * records as received (one per source system and identifier); a golden Patient is derived per
 * person from its linked sources. Implemented by the patient index (hub/mpi); the API depends
 * only on this interface.
 */
export interface PatientIndexReader {
  /** the golden Patient id a source Patient is linked to by MATCH, if any */
  goldenOf(sourcePatientId: string): Promise<string | undefined>;
  /** source Patient ids linked by MATCH to a golden Patient (empty when none or unknown) */
  sourcesOf(goldenPatientId: string): Promise<string[]>;
  /** whether the id names a golden Patient */
  isGolden(patientId: string): Promise<boolean>;
  /** for a golden Patient merged away into another, the survivor's id (the API answers 410 pointing to it) */
  survivorOf(goldenPatientId: string): Promise<string | undefined>;
}
