/**
 * What a source system says about its own patient records, carried from the mapping to the
 * patient index: HL7 A40 "these two records of mine are one person, keep `survivor`", A37
 * "these two records are not the same person (unlink)". References are "Patient/<id>" of the
 * source records, computed with the same id rule the mapping uses for PID.
 */
export type PatientDirective =
  | { kind: 'merge'; survivor: string; retired: string; sourceSystem: string; controlId?: string }
  | { kind: 'unlink'; patient: string; other: string; sourceSystem: string; controlId?: string };
