/** A FHIR resource id (R4 `id` datatype): 1-64 of letters, digits, `-` and `.`. */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
