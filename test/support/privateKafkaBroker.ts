import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { kafkaMetadata } from '../../hub/bus/kafkaHealth.ts';
import { PROJECT_ROOT } from '../../hub/core/schemaValidator.ts';

/** Jars fetched by scripts/services.sh; the shared broker runs from the same ones. */
const LIBS = path.join(PROJECT_ROOT, '.services', 'kafka', 'libs-3.9.1');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * A single-node KRaft broker of a test's own, on free ports with its own data folder, for tests
 * that must stop Kafka: the shared broker on 9092 is never touched. Restarting keeps the data.
 */
export class PrivateKafkaBroker {
  private process: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private dir = '';
  private port = 0;

  static available(): boolean {
    return existsSync(path.join(LIBS, '.complete'));
  }

  get brokers(): string {
    return `127.0.0.1:${this.port}`;
  }

  async create(): Promise<void> {
    this.dir = mkdtempSync(path.join(tmpdir(), 'hub-kafka-'));
    this.port = await freePort();
    const controller = await freePort();
    mkdirSync(path.join(this.dir, 'data'));
    mkdirSync(path.join(this.dir, 'logs'));
    writeFileSync(path.join(this.dir, 'server.properties'), [
      'process.roles=broker,controller', 'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controller}`,
      `listeners=PLAINTEXT://127.0.0.1:${this.port},CONTROLLER://127.0.0.1:${controller}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${this.port}`,
      'controller.listener.names=CONTROLLER', 'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${path.join(this.dir, 'data')}`,
      'num.partitions=1', 'offsets.topic.replication.factor=1', 'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1', 'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0', 'auto.create.topics.enable=false',
    ].join('\n'));
    writeFileSync(path.join(this.dir, 'log4j.properties'), [
      'log4j.rootLogger=WARN, file', 'log4j.appender.file=org.apache.log4j.FileAppender',
      `log4j.appender.file.File=${path.join(this.dir, 'logs', 'server.log')}`,
      'log4j.appender.file.layout=org.apache.log4j.PatternLayout', 'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    ].join('\n'));
    const clusterId = randomBytes(16).toString('base64url');
    execFileSync('java', ['-cp', `${LIBS}/*`, 'kafka.tools.StorageTool', 'format', '-t', clusterId,
      '-c', path.join(this.dir, 'server.properties'), '--ignore-formatted'], { stdio: 'ignore' });
  }

  /** Starts the broker and waits until it answers a metadata request. */
  async start(timeoutMs = 90_000): Promise<void> {
    this.process = spawn('java', ['-Xms128m', '-Xmx384m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1',
      `-Dlog4j.configuration=file:${path.join(this.dir, 'log4j.properties')}`,
      '-cp', `${LIBS}/*`, 'kafka.Kafka', path.join(this.dir, 'server.properties')], { stdio: 'ignore' });
    const child = this.process;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`private Kafka exited with ${child.exitCode}; see ${this.dir}/logs`);
      try {
        if ((await kafkaMetadata(this.brokers, 2000)) > 0) return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`private Kafka on ${this.brokers} did not come up within ${timeoutMs} ms`);
  }

  /** Stops the broker this object started (SIGTERM, then SIGKILL after 30 s). */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
    this.process = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
