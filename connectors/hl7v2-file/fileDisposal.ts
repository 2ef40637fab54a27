import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * What the connector keeps (archived and refused messages, their reasons) is patient data:
 * readable by the hub's user only, whatever mode the sender gave the file it dropped.
 */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** A free name in `dir` for `base`: `a.hl7`, else `a.1718000000000.hl7` so nothing is overwritten. */
function freeName(dir: string, base: string, now: Date): string {
  const target = path.join(dir, base);
  if (!existsSync(target)) return target;
  const ext = path.extname(base);
  let n = 0;
  for (;;) {
    const candidate = path.join(dir, `${path.basename(base, ext)}.${now.getTime()}${n ? `-${n}` : ''}${ext}`);
    if (!existsSync(candidate)) return candidate;
    n += 1;
  }
}

/** Moves a file, copying when the folders are on different file systems (rename cannot cross them); the moved file is 0600. */
export function moveFile(source: string, dir: string, now = new Date()): string {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const target = freeName(dir, path.basename(source), now);
  try {
    renameSync(source, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    copyFileSync(source, target);
    unlinkSync(source);
  }
  chmodSync(target, PRIVATE_FILE_MODE);
  return target;
}

/** Archive folders are split by day so none grows without bound. */
export function archiveFolder(archiveDir: string, now = new Date()): string {
  const day = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
  return path.join(archiveDir, day);
}

/** Moves a file to the error folder with `<name>.error.txt` beside it saying why. */
export function moveToError(source: string, errorDir: string, reasonLines: string[], now = new Date()): string {
  const target = moveFile(source, errorDir, now);
  writeFileSync(`${target}.error.txt`, `${reasonLines.join('\n')}\n`, { encoding: 'utf8', mode: PRIVATE_FILE_MODE });
  return target;
}
