import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { UsageError } from './errors';

// An unreadable file is a usage error naming it.
function readable<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Reads a file's bytes (`-` for stdin); an unreadable file is a usage error. */
export function readInput(file: string): Buffer {
  return readable(file, () => readFileSync(file === '-' ? 0 : file));
}

/**
 * Reads a file's bytes (`-` for stdin) if there are at most `maxBytes`, else answers undefined:
 * a file's size is checked before anything is read, a stream is read no further than the limit.
 */
export function readInputUpTo(file: string, maxBytes: number): Buffer | undefined {
  return readable(file, () => {
    const fd = file === '-' ? 0 : openSync(file, 'r');
    try {
      const stat = fstatSync(fd);
      if (stat.isFile() && stat.size > maxBytes) return undefined;
      const chunks: Buffer[] = [];
      const chunk = Buffer.alloc(64 * 1024);
      for (let total = 0, n: number; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0;) {
        total += n;
        if (total > maxBytes) return undefined;
        chunks.push(Buffer.from(chunk.subarray(0, n)));
      }
      return Buffer.concat(chunks);
    } finally {
      if (fd !== 0) closeSync(fd);
    }
  });
}

/** Prints a value as indented JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
