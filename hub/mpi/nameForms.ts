import { pinyin } from 'pinyin-pro';
import type { HumanName } from 'fhir/r4.js';

/**
 * A person's name as the matcher compares it: the written form (characters or Latin letters,
 * case-folded) and a romanised form (Han characters through pinyin, toneless) so that 张三 from
 * the HIS and "ZHANG SAN" from the PACS meet.
 */
export interface NameForm {
  /** written family and given name, lower-cased, spaces removed */
  writtenFamily: string;
  writtenGiven: string;
  han: boolean;
  /** romanised, a-z only */
  family: string;
  given: string;
}

const HAN = /[\u3400-\u9fff\uf900-\ufaff]/;

function latinLetters(text: string): string {
  return text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/ü/g, 'v').replace(/[^a-z]/g, '');
}

function romanise(text: string, isSurname: boolean): string {
  if (!HAN.test(text)) return latinLetters(text);
  // surname mode reads polyphonic surnames the way surnames are read (单 shan, 曾 zeng)
  const syllables = pinyin(text, { toneType: 'none', type: 'array', v: true, ...(isSurname ? { surname: 'head' as const } : {}) });
  return latinLetters(syllables.join(''));
}

function squash(text: string): string {
  return text.normalize('NFC').toLowerCase().replace(/[\s.'·\-,]/g, '');
}

export function nameForm(family: string, given: string): NameForm | undefined {
  const writtenFamily = squash(family), writtenGiven = squash(given);
  if (!writtenFamily && !writtenGiven) return undefined;
  return {
    writtenFamily, writtenGiven, han: HAN.test(family + given),
    family: romanise(family, true), given: romanise(given, false),
  };
}

/** Splits a name given only as text: Han names are family-first; Latin text takes the first word as family (pinyin order). */
function fromText(text: string): [string, string] {
  const t = text.trim();
  if (HAN.test(t) && !/\s/.test(t)) return [t.slice(0, 1), t.slice(1)];
  const words = t.split(/[\s,]+/).filter(Boolean);
  return [words[0] ?? '', words.slice(1).join(' ')];
}

export function nameFormsOf(names: HumanName[] | undefined): NameForm[] {
  const forms: NameForm[] = [];
  for (const n of names ?? []) {
    if (n.use === 'old') continue;
    const [family, given] = n.family || n.given?.length ? [n.family ?? '', (n.given ?? []).join(' ')] : fromText(n.text ?? '');
    const form = nameForm(family, given);
    if (form && !forms.some((f) => f.writtenFamily === form.writtenFamily && f.writtenGiven === form.writtenGiven)) forms.push(form);
  }
  return forms;
}
