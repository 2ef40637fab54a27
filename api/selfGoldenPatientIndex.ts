import type { PatientIndexReader } from '../hub/mpi/patientIndexReader.ts';

/**
 * The patient index when no MPI runs: every Patient is its own golden record and its only
 * source, and nothing is ever merged away.
 */
export class SelfGoldenPatientIndex implements PatientIndexReader {
  async goldenOf(sourcePatientId: string): Promise<string | undefined> {
    return sourcePatientId;
  }

  async sourcesOf(goldenPatientId: string): Promise<string[]> {
    return [goldenPatientId];
  }

  async isGolden(_patientId: string): Promise<boolean> {
    return true;
  }

  async survivorOf(_goldenPatientId: string): Promise<string | undefined> {
    return undefined;
  }
}
