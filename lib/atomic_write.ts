// Atomic file writes, shared by checkpoints (serialization.ts) and tokenizer vocabularies
// (text/bpe.ts): the data goes to a temporary file in the same directory, which is fsynced and
// renamed over the target, so a crash or an error mid-write leaves the old file intact.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** Writes through `write(fd)` to a temporary file next to `path`, fsyncs it and renames it over `path`. */
export function atomicWrite(path: string, op: string, write: (fd: number) => void): void {
  const target = resolve(path);
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o666);
  } catch (e) {
    throw new Error(`${op}: cannot create a temporary file in ${dir} (${(e as Error).message})`);
  }
  try {
    write(fd);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, target);
  } catch (e) {
    if (fd >= 0) {
      try {
        closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* already failing */
    }
    throw e;
  }
  // Make the rename itself durable (best effort: not every platform can fsync a directory).
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* ignore */
  }
}

/** Writes a whole string (UTF-8) or byte array atomically. */
export function writeFileAtomic(path: string, op: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  atomicWrite(path, op, (fd) => {
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, bytes.length - offset);
  });
}
