import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { HubError } from '../../hub/core/hubError.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One reader per drop folder: two processes polling the same inbox would each ingest the same
 * file. The lock file holds the owner's pid; a lock left by a process that died is taken over.
 */
export class DirectoryLock {
  private held = false;

  constructor(private readonly lockFile: string) {}

  acquire(owner: string): void {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        writeFileSync(this.lockFile, JSON.stringify({ pid: process.pid, owner, since: new Date().toISOString() }), { flag: 'wx', mode: 0o600 });
        this.held = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let pid = 0;
      try {
        pid = Number((JSON.parse(readFileSync(this.lockFile, 'utf8')) as { pid?: number }).pid ?? 0);
      } catch {
        pid = 0; // unreadable: left half-written by a crash
      }
      if (pid > 0 && alive(pid)) {
        throw new HubError('CONNECTOR_DIRECTORY_LOCKED', `${owner}: another process (pid ${pid}) is already reading this folder; lock file ${this.lockFile}`);
      }
      unlinkSync(this.lockFile);
    }
    throw new HubError('CONNECTOR_DIRECTORY_LOCKED', `${owner}: cannot take the lock ${this.lockFile}`);
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    try {
      unlinkSync(this.lockFile);
    } catch {
      // already gone
    }
  }
}
