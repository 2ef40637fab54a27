import net from 'node:net';

/**
 * Host names a listener may bind to that only this machine can reach. `localhost` counts: it is
 * what the quick start config uses and resolves to loopback on every system we run on.
 */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const address = plainAddress(host);
  if (net.isIPv4(address)) return address.startsWith('127.');
  return address === '::1';
}

/** A remote address as counted and logged: IPv4 clients of a dual-stack listener arrive as `::ffff:a.b.c.d`. */
export function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/**
 * Sender addresses a listener accepts: single addresses (`10.20.0.15`, `fe80::1`) and CIDR
 * blocks (`10.20.1.0/24`). Host names are not accepted: a sender is let in by the address its
 * packets come from, and a name would have to be resolved (and trusted) to mean anything.
 */
export class AddressAllowList {
  private constructor(private readonly list: net.BlockList, readonly entries: readonly string[]) {}

  /** loopback only: the default of a listener bound to a loopback address */
  static loopback(): AddressAllowList {
    return AddressAllowList.parse(['127.0.0.0/8', '::1']) as AddressAllowList;
  }

  /** The list, or the problem with its first bad entry (for a start-up message naming it). */
  static parse(entries: readonly string[]): AddressAllowList | { problem: string; index: number } {
    const list = new net.BlockList();
    for (const [index, entry] of entries.entries()) {
      const [address = '', prefix, ...rest] = entry.trim().split('/');
      const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
      if (!family || rest.length > 0) {
        return { index, problem: `"${entry}" is not an IP address or CIDR block (e.g. 10.20.0.15 or 10.20.1.0/24)` };
      }
      if (prefix === undefined) {
        list.addAddress(address, family);
        continue;
      }
      const bits = Number(prefix);
      const max = family === 'ipv4' ? 32 : 128;
      if (!/^\d+$/.test(prefix) || bits > max) return { index, problem: `"${entry}" has a prefix length outside 0-${max}` };
      list.addSubnet(address, bits, family);
    }
    return new AddressAllowList(list, entries);
  }

  allows(remoteAddress: string | undefined): boolean {
    if (!remoteAddress) return false;
    const address = plainAddress(remoteAddress);
    const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
    return family !== undefined && this.list.check(address, family);
  }
}
