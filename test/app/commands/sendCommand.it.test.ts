import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runSend } from '../../../app/commands/sendCommand.ts';
import type { MllpConnector } from '../../../connectors/hl7v2-mllp/mllpConnector.ts';
import { PROJECT_ROOT } from '../../../hub/core/schemaValidator.ts';
import { runningHub } from '../../support/runningHub.ts';

describe('hub send against a running hub', function () {
  this.timeout(90_000);
  // only the MLLP intake matters here: ACKs are given once Kafka confirmed
  const { runtime } = runningHub({}, { pipeline: false, api: false });
  let dir = '';
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sends the sample admissions and a message no mapping handles, and sums up the ACKs in one line', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'hub-send-it-'));
    writeFileSync(path.join(dir, 'unsupported.hl7'), 'MSH|^~\\&|HIS|DEMO_HOSP|HUB|DEMO_HOSP|20261123091500+0800||ZZZ^Z99|HIS-ZZZ-1|P|2.5\nPID|1||MRN9^^^DEMO_HOSP^MR\n');
    const port = (runtime.connectors[0] as MllpConnector).port!;
    const out: string[] = [];
    const err: string[] = [];
    const code = await runSend([path.join(PROJECT_ROOT, 'examples'), dir, '--port', String(port)], { out: (l) => out.push(l), err: (l) => err.push(l) });
    expect(out).to.have.length(1);
    expect(out[0]).to.match(/^sent 3: AA 2, AE 0, AR 1 in \d+\.\d\d s \(\d+\.\d msg\/s\)$/);
    expect(err).to.deep.equal(['unsupported.hl7: AR [HL7_MESSAGE_TYPE_UNSUPPORTED] no mapping handles message type ZZZ']);
    expect(code).to.equal(1);
  });
});
