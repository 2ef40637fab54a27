import { copyFileSync, existsSync, mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

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

/** Moves a file, copying when the folders are on different file systems (rename cannot cross them). */
export function moveFile(source: string, dir: string, now = new Date()): string {
  mkdirSync(dir, { recursive: true });
  const target = freeName(dir, path.basename(source), now);
  try {
    renameSync(source, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    copyFileSync(source, target);
    unlinkSync(source);
  }
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
  writeFileSync(`${target}.error.txt`, `${reasonLines.join('\n')}\n`, 'utf8');
  return target;
}
