import { HubError } from '../core/hubError.ts';
import type { CodemapSpec, GroupPartSpec, MessageMappingSpec, PartSpec } from './mappingTypes.ts';

export interface Loaded<T> {
  spec: T;
  /** path relative to the mappings folder, for messages that lead to the file */
  file: string;
}

/** Everything loaded from mappings/, by id (the file's path under mappings/ without extension). */
export class MappingRegistry {
  readonly messages: Loaded<MessageMappingSpec>[] = [];
  readonly parts = new Map<string, Loaded<PartSpec>>();
  readonly codemaps = new Map<string, Loaded<CodemapSpec>>();
  readonly groups = new Map<string, Loaded<GroupPartSpec>>();

  /** Parts are named from their family folder (`datatypes/CX-Identifier`), code maps by file name. */
  private static candidates(name: string, family: string, folder: string): string[] {
    return [`${family}/${folder}${name}`, name];
  }

  private resolve<T>(table: Map<string, Loaded<T>>, names: string[], what: string): Loaded<T> {
    for (const n of names) {
      const hit = table.get(n);
      if (hit) return hit;
    }
    throw new HubError('MAPPING_REFERENCE_UNKNOWN', `unknown ${what} "${names[names.length - 1]}" (looked for ${names.join(', ')})`);
  }

  part(name: string, family: string): Loaded<PartSpec> {
    return this.resolve(this.parts, MappingRegistry.candidates(name, family, ''), 'part');
  }

  codemap(name: string, family: string): CodemapSpec {
    return this.resolve(this.codemaps, MappingRegistry.candidates(name, family, 'codemaps/'), 'codemap').spec;
  }

  /** A resource group (`groups/ADT-Visit`), named like parts from the family folder. */
  group(name: string, family: string): Loaded<GroupPartSpec> {
    return this.resolve(this.groups, MappingRegistry.candidates(name, family, ''), 'group');
  }

  hasGroup(name: string, family: string): boolean {
    return MappingRegistry.candidates(name, family, '').some((n) => this.groups.has(n));
  }

  hasPart(name: string, family: string): boolean {
    return MappingRegistry.candidates(name, family, '').some((n) => this.parts.has(n));
  }

  hasCodemap(name: string, family: string): boolean {
    return MappingRegistry.candidates(name, family, 'codemaps/').some((n) => this.codemaps.has(n));
  }
}

/** The first folder of an id: `hl7v2/messages/ADT_A01` → `hl7v2`. */
export function familyOf(id: string): string {
  return id.split('/')[0] ?? id;
}
