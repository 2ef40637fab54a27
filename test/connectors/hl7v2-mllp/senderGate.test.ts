import { expect } from 'chai';
import { SenderGate } from '../../../connectors/hl7v2-mllp/senderGate.ts';
import { AddressAllowList } from '../../../connectors/networkAddress.ts';

describe('MLLP sender gate', () => {
  it('refuses an address outside the allow-list before counting it', () => {
    const gate = new SenderGate(AddressAllowList.parse(['10.20.0.0/24']) as AddressAllowList, 1);
    expect(gate.admit('10.99.0.1')).to.deep.equal({ admitted: false, address: '10.99.0.1', reason: 'sender-not-allowed' });
    expect(gate.admit('10.20.0.7')).to.deep.equal({ admitted: true, address: '10.20.0.7' });
  });

  it('holds each address to its connection limit and gives a slot back when one closes', () => {
    const gate = new SenderGate(undefined, 2);
    expect([gate.admit('10.0.0.1'), gate.admit('::ffff:10.0.0.1')].map((v) => v.admitted)).to.deep.equal([true, true]);
    expect(gate.admit('10.0.0.1')).to.deep.equal({ admitted: false, address: '10.0.0.1', reason: 'per-address-limit' });
    expect(gate.admit('10.0.0.2').admitted, 'another address is not held back').to.equal(true);
    gate.release('10.0.0.1');
    expect(gate.admit('10.0.0.1').admitted).to.equal(true);
  });
});
