/**
 * Runs the pipeline's record processor on one HL7v2 message against the real FerretDB and kills
 * this process (SIGKILL: no cleanup, no flush) right after the store confirms a chosen command,
 * e.g. `insert Encounter`: what a power cut or kill -9 between the parts of a write leaves.
 *
 *   node --import tsx crashingPipeline.ts <mongoUrl> <database> <messageFile> <killAfter>
 */
import { readFileSync } from 'node:fs';
import { pipelineFor, recordOf } from './pipelineUnderTest.ts';

const [mongoUrl = '', database = '', messageFile = '', killAfter = ''] = process.argv.slice(2);
const { processor, client, close } = await pipelineFor(mongoUrl, database, { monitorCommands: true });
const labels = new Map<number, string>();
client.on('commandStarted', (e) => labels.set(e.requestId, `${e.commandName} ${String(e.command[e.commandName])}`));
client.on('commandSucceeded', (e) => {
  if (labels.get(e.requestId) === killAfter) process.kill(process.pid, 'SIGKILL');
});
await processor(recordOf(readFileSync(messageFile)), { attempt: 1, final: false });
await close();
// the kill point was never reached: say so, so the test does not mistake this for a crash
process.exit(3);
