import { expect } from 'chai';
import { AddressAllowList, isLoopbackHost, plainAddress } from '../../connectors/networkAddress.ts';

describe('network addresses of listeners and senders', () => {
  it('counts 127.0.0.0/8, ::1 and localhost as loopback, and nothing reachable from elsewhere', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1'].map(isLoopbackHost)).to.deep.equal([true, true, true, true, true]);
    expect(['0.0.0.0', '::', '10.0.0.5', 'hub.example.org', '128.0.0.1'].map(isLoopbackHost)).to.deep.equal([false, false, false, false, false]);
  });

  it('reads an IPv4 client of a dual-stack listener as its IPv4 address', () => {
    expect(plainAddress('::ffff:10.20.0.15')).to.equal('10.20.0.15');
    expect(plainAddress('fe80::1')).to.equal('fe80::1');
  });

  it('allows single addresses and CIDR blocks of both families, and nothing else', () => {
    const list = AddressAllowList.parse(['10.20.0.15', '10.30.0.0/16', 'fd00::/8']) as AddressAllowList;
    expect(list).to.be.instanceOf(AddressAllowList);
    expect(['10.20.0.15', '::ffff:10.20.0.15', '10.30.255.1', 'fd12::5'].map((a) => list.allows(a))).to.deep.equal([true, true, true, true]);
    expect(['10.20.0.16', '10.31.0.1', '127.0.0.1', 'fe80::1', '', undefined].map((a) => list.allows(a))).to.deep.equal([false, false, false, false, false, false]);
  });

  it('names the first entry that is not an address or block', () => {
    expect(AddressAllowList.parse(['10.0.0.1', 'his.example.org'])).to.deep.equal({ index: 1, problem: '"his.example.org" is not an IP address or CIDR block (e.g. 10.20.0.15 or 10.20.1.0/24)' });
    expect(AddressAllowList.parse(['10.0.0.0/33'])).to.deep.equal({ index: 0, problem: '"10.0.0.0/33" has a prefix length outside 0-32' });
    expect(AddressAllowList.parse(['10.0.0.0/8/1'])).to.have.property('index', 0);
  });

  it('lets only loopback senders in by default', () => {
    const list = AddressAllowList.loopback();
    expect(['127.0.0.1', '::1', '::ffff:127.0.0.1'].every((a) => list.allows(a))).to.equal(true);
    expect(list.allows('192.168.1.10')).to.equal(false);
  });
});
