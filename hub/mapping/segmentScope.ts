import type { Hl7Repetition, Hl7Segment } from '../hl7v2/hl7Message.ts';
import type { GroupSpec } from './mappingTypes.ts';

/**
 * What a mapping expression can see: the segments of its group (the whole message at the top,
 * one OBR with its OBX/NTE/SPM below), the segment being iterated, and, inside a datatype
 * part, the field value being read. Paths look in the nearest scope first, then outwards, so
 * an OBX mapping reads its own OBX, its order's OBR and the message's PID without saying where.
 */
export class Scope {
  /** references ("Type/id") of resources created directly in this scope, by mapping key */
  readonly own = new Map<string, string[]>();
  /** references created in this scope or any scope inside it */
  readonly descendants = new Map<string, string[]>();

  constructor(
    readonly segments: readonly Hl7Segment[],
    readonly parent?: Scope,
    readonly current?: Hl7Segment,
    readonly repetition?: Hl7Repetition,
    /** 0-based position among its siblings, for ids of repeated things that have no key */
    readonly index = 0,
  ) {}

  /** A child that reads one field value with datatype paths (CX.1), keeping the segment view. */
  withRepetition(repetition: Hl7Repetition, index = 0): Scope {
    return new Scope(this.segments, this, this.current, repetition, index);
  }

  /** segments by name, built on first use: a 120-OBX group is searched for PID once per read otherwise */
  private byName: Map<string, Hl7Segment[]> | undefined;

  private named(name: string): Hl7Segment[] | undefined {
    if (!this.byName) {
      this.byName = new Map();
      for (const seg of this.segments) {
        const list = this.byName.get(seg.name);
        if (list) list.push(seg);
        else this.byName.set(seg.name, [seg]);
      }
    }
    return this.byName.get(name);
  }

  findSegment(name: string, occurrence = 0): Hl7Segment | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      if (occurrence === 0 && s.current?.name === name) return s.current;
      if (s.segments.length > 8) {
        const hit = s.named(name)?.[occurrence];
        if (hit) return hit;
        continue;
      }
      let seen = 0;
      for (const seg of s.segments) {
        if (seg.name !== name) continue;
        if (seen === occurrence) return seg;
        seen += 1;
      }
    }
    return undefined;
  }

  register(key: string, reference: string): void {
    push(this.own, key, reference);
    for (let s: Scope | undefined = this; s; s = s.parent) push(s.descendants, key, reference);
  }

  /** The nearest resource with this key: created here, or in an enclosing scope, or the only one below. */
  resolveOne(key: string): string | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const own = s.own.get(key);
      if (own?.length) return own[0];
      const below = s.descendants.get(key);
      if (below?.length === 1) return below[0];
    }
    return undefined;
  }

  /** All resources with this key in the nearest scope that has any. */
  resolveAll(key: string): string[] {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const below = s.descendants.get(key);
      if (below?.length) return below;
    }
    return [];
  }
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** One child scope per occurrence of `name`, holding it and the segments after it up to the next. */
export function scopesPerSegment(scope: Scope, name: string): Scope[] {
  const out: Scope[] = [];
  const segs = scope.segments;
  for (let i = 0; i < segs.length; i += 1) {
    if (segs[i]!.name !== name) continue;
    let j = i + 1;
    while (j < segs.length && segs[j]!.name !== name) j += 1;
    out.push(new Scope(segs.slice(i, j), scope, segs[i], undefined, out.length));
  }
  // A segment that is the scope's own current segment (each: NK1 inside a per-NK1 block) counts too.
  if (out.length === 0 && scope.current?.name === name) out.push(new Scope([scope.current], scope, scope.current));
  return out;
}

/**
 * Splits a scope into groups such as ORDER_OBSERVATION (ORC? OBR ...). A group opens at a
 * segment of `group` when the open group already holds that segment or one listed after it;
 * so "ORC OBR OBX ORC OBR" gives two groups and "OBR OBX OBR OBX" (no ORC) also gives two.
 */
export function scopesPerGroup(scope: Scope, spec: GroupSpec): Scope[] {
  const rank = new Map(spec.group.map((name, i) => [name, i]));
  const until = new Set(spec.until ?? []);
  const groups: Scope[] = [];
  let open: Hl7Segment[] | undefined;
  let openRanks = new Set<number>();
  const close = () => {
    if (open && open.length) {
      const starter = open.find((s) => rank.has(s.name));
      groups.push(new Scope(open, scope, starter, undefined, groups.length));
    }
    open = undefined;
    openRanks = new Set();
  };
  for (const seg of scope.segments) {
    const r = rank.get(seg.name);
    if (r !== undefined) {
      if (!open || [...openRanks].some((x) => x >= r)) {
        close();
        open = [];
      }
      openRanks.add(r);
      open!.push(seg);
    } else if (until.has(seg.name)) {
      close();
    } else if (open) {
      open.push(seg);
    }
  }
  close();
  return groups;
}
