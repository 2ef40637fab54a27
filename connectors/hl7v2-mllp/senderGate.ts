import { plainAddress, type AddressAllowList } from '../networkAddress.ts';

export type GateVerdict =
  | { admitted: true; address: string }
  | { admitted: false; address: string; reason: 'sender-not-allowed' | 'per-address-limit' };

/**
 * Which TCP connections an MLLP listener takes: senders on its allow-list (none when it has no
 * list, e.g. under mutual TLS), each with at most `maxPerAddress` open connections, so one
 * address (a scanner, a sender stuck reconnecting) cannot take every slot of the listener.
 */
export class SenderGate {
  private readonly open = new Map<string, number>();

  constructor(private readonly allowList: AddressAllowList | undefined, private readonly maxPerAddress: number) {}

  /** Counts an admitted connection; `release` it when it closes. */
  admit(remoteAddress: string | undefined): GateVerdict {
    const address = plainAddress(remoteAddress ?? '');
    if (this.allowList && !this.allowList.allows(address)) return { admitted: false, address, reason: 'sender-not-allowed' };
    const count = this.open.get(address) ?? 0;
    if (count >= this.maxPerAddress) return { admitted: false, address, reason: 'per-address-limit' };
    this.open.set(address, count + 1);
    return { admitted: true, address };
  }

  release(address: string): void {
    const count = this.open.get(address) ?? 0;
    if (count <= 1) this.open.delete(address);
    else this.open.set(address, count - 1);
  }
}
