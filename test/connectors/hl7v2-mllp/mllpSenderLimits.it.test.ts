import { expect } from 'chai';
import type { MllpConnector } from '../../../connectors/hl7v2-mllp/mllpConnector.ts';
import { ackCode, MllpTestClient } from '../../support/mllpClient.ts';
import { capturingLogger } from '../../support/capturingLogger.ts';
import { eventually } from '../../support/testServices.ts';
import { ConnectorHarness } from '../connectorHarness.ts';
import { sampleMessage } from '../hl7Samples.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const START_BLOCK = Buffer.from([0x0b]);

/** How long until the server hangs up on `client` (or `limitMs` if it does not). */
/** How long until the server closed the connection, or Infinity when it stayed open for `limitMs` (timers may fire a millisecond early). */
async function closedWithin(client: MllpTestClient, limitMs: number, since = Date.now()): Promise<number> {
  const closed = await Promise.race([client.closed.then(() => true), sleep(limitMs).then(() => false)]);
  return closed ? Date.now() - since : Infinity;
}

/** An MLLP listener of its own with a capturing logger, started and stopped around `run`. */
async function withListener(options: Record<string, unknown>, run: (connector: MllpConnector, logs: Array<Record<string, unknown>>, harness: ConnectorHarness<MllpConnector>) => Promise<void>): Promise<void> {
  const { log, lines } = capturingLogger();
  const harness = new ConnectorHarness<MllpConnector>({ id: 'lis-results', kind: 'hl7v2-mllp', sourceSystem: 'LIS', host: '127.0.0.1', port: 0, options }, undefined, {}, log);
  const connector = await harness.start();
  try {
    await run(connector, lines, harness);
  } finally {
    await harness.stop();
  }
}

const linesFor = (logs: Array<Record<string, unknown>>, reason: string) => logs.filter((l) => l.reason === reason);

describe('MLLP sender limits against real Kafka', function () {
  this.timeout(120_000);

  it('refuses a sender outside allowedSenders when it connects, before any frame, with one log line per interval', async () => {
    await withListener({ allowedSenders: ['10.99.0.0/16'] }, async (connector, logs, harness) => {
      for (let i = 0; i < 3; i += 1) {
        const client = await MllpTestClient.connect(connector.port!);
        const ack = client.send(sampleMessage(`REFUSED-${i}`), 500).catch(() => 'no ACK');
        expect(await closedWithin(client, 5000)).to.be.below(5000);
        expect(await ack).to.equal('no ACK');
      }
      expect(connector.metrics()).to.include({ refusedSenders: 3, connections: 0, received: 0 });
      const lines = linesFor(logs, 'sender-not-allowed');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include({ level: 40, connector: 'lis-results', remote: '127.0.0.1', msg: 'MLLP connection refused: the address is not in options.allowedSenders' });
      expect(await harness.records(harness.inboundTopic)).to.have.length(0);
    });
  });

  it('holds one address to maxConnectionsPerAddress, keeps serving the connections it has, and admits again when one closes', async () => {
    await withListener({ maxConnectionsPerAddress: 2 }, async (connector, logs) => {
      const first = await MllpTestClient.connect(connector.port!);
      const second = await MllpTestClient.connect(connector.port!);
      const third = await MllpTestClient.connect(connector.port!);
      expect(await closedWithin(third, 5000), 'the third connection from 127.0.0.1').to.be.below(5000);
      expect(ackCode(await first.send(sampleMessage('HELD-1'))).code).to.equal('AA');
      expect(ackCode(await second.send(sampleMessage('HELD-2'))).code).to.equal('AA');
      expect(connector.metrics()).to.include({ refusedOverAddressLimit: 1, openConnections: 2 });
      expect(linesFor(logs, 'per-address-limit')[0]).to.include({ remote: '127.0.0.1', maxConnectionsPerAddress: 2 });

      first.close();
      await eventually(async () => (connector.metrics().openConnections === 1 ? true : undefined), 5000, 'the closed connection to be released');
      const fourth = await MllpTestClient.connect(connector.port!);
      expect(ackCode(await fourth.send(sampleMessage('AGAIN-1'))).code).to.equal('AA');
      second.close();
      fourth.close();
    });
  });

  it('closes a connection with no whole frame by firstFrameTimeoutMs, even one trickling bytes, but keeps one that sent a frame', async () => {
    await withListener({ firstFrameTimeoutMs: 1000, idleTimeoutMs: 60_000 }, async (connector, logs) => {
      // measured from each connection's start, which is when its first-frame deadline starts
      const silentSince = Date.now();
      const silent = await MllpTestClient.connect(connector.port!);
      const tricklingSince = Date.now();
      const trickling = await MllpTestClient.connect(connector.port!);
      const sender = await MllpTestClient.connect(connector.port!);
      expect(ackCode(await sender.send(sampleMessage('FIRST-1'))).code).to.equal('AA');
      // a slow sender's bytes keep an inactivity timer quiet; the first-frame deadline is absolute
      await trickling.write(Buffer.concat([START_BLOCK, Buffer.from('MSH|')]));
      const trickle = setInterval(() => void trickling.write(Buffer.from('x')).catch(() => undefined), 200);
      try {
        const [silentAfter, tricklingAfter] = await Promise.all([closedWithin(silent, 8000, silentSince), closedWithin(trickling, 8000, tricklingSince)]);
        expect(silentAfter).to.be.within(700, 5000);
        expect(tricklingAfter).to.be.within(500, 5000);
      } finally {
        clearInterval(trickle);
      }
      expect(await closedWithin(sender, 500), 'the sender that delivered a frame stays connected').to.be.at.least(500);
      expect(connector.metrics()).to.include({ firstFrameTimeouts: 2, idleTimeouts: 0 });
      expect(linesFor(logs, 'first-frame-timeout')[0]).to.include({ firstFrameTimeoutMs: 1000 });
      sender.close();
    });
  });

  it('logs when the listener is full and a new connection is dropped', async () => {
    await withListener({ maxConnections: 2 }, async (connector, logs) => {
      const held = [await MllpTestClient.connect(connector.port!), await MllpTestClient.connect(connector.port!)];
      const extra = await MllpTestClient.connect(connector.port!);
      expect(await closedWithin(extra, 5000)).to.be.below(5000);
      expect(connector.metrics()).to.include({ refusedOverConnectionLimit: 1 });
      expect(linesFor(logs, 'connection-limit')[0]).to.include({ maxConnections: 2, msg: 'MLLP connection refused: the listener holds maxConnections connections' });
      for (const c of held) c.close();
    });
  });
});
