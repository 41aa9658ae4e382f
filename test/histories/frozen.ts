// The goldens a release froze. `<version>.sha256` in this folder lists each golden that version
// shipped with its sha256, in sha256sum's format (`cd test/histories && sha256sum -c 1.0.0.sha256`
// checks them by hand). Cases that version started may still be running, and these files stand for
// them: new workflow code must replay them as they are, so a frozen golden is never re-recorded,
// edited or deleted. No vitest here: scripts/record-histories.ts imports it.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Where the goldens and the manifests live. */
export const HISTORIES_DIR = __dirname;

/** What to do instead of replacing a frozen golden. */
export const KEEP_FROZEN =
  'keep it as it is, put the workflow change behind patched(), and record a NEW golden next to it ' +
  '(a new scenario in test/histories/scenarios.ts, then npm run histories:record -- NAME)';

/** One golden a release froze. */
export interface FrozenGolden {
  /** The file name in the histories folder, e.g. `approval.json`. */
  file: string;
  sha256: string;
  /** The version whose manifest lists it, e.g. `1.0.0`. */
  release: string;
}

const MANIFEST_LINE = /^([0-9a-f]{64}) [ *]([^/]+\.json)$/;

/** Every golden frozen by the manifests in `dir`. */
export function frozenGoldens(dir = HISTORIES_DIR): FrozenGolden[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.sha256'))
    .sort()
    .flatMap((manifest) => {
      const release = manifest.slice(0, -'.sha256'.length);
      const lines = readFileSync(path.join(dir, manifest), 'utf8').split('\n').filter(Boolean);
      return lines.map((line, i) => {
        const match = MANIFEST_LINE.exec(line);
        if (!match) throw new Error(`${manifest}:${i + 1}: not "<sha256>  <file>.json": ${line}`);
        return { file: match[2], sha256: match[1], release };
      });
    });
}

/** The sha256 (hex) of a file's bytes. */
export const sha256OfFile = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** One line per frozen golden that is missing from `dir` or differs from its manifest. */
export function frozenGoldenProblems(dir = HISTORIES_DIR): string[] {
  return frozenGoldens(dir).flatMap(({ file, sha256, release }) => {
    const target = path.join(dir, file);
    if (!existsSync(target))
      return [`${file}: the ${release} golden was deleted; restore it from git and ${KEEP_FROZEN}`];
    const found = sha256OfFile(target);
    if (found === sha256) return [];
    return [
      `${file}: the ${release} golden was re-recorded or edited (sha256 ${found}, ${release} shipped ${sha256}); ` +
        `restore it from git and ${KEEP_FROZEN}`,
    ];
  });
}

/**
 * Why `npm run histories:record` may not write these files (names in `dir`): one line per frozen
 * golden it would replace (`overwrite`) or write again after it went missing.
 */
export function recordingRefusals(files: string[], overwrite: boolean, dir = HISTORIES_DIR): string[] {
  const frozen = new Map(frozenGoldens(dir).map((golden) => [golden.file, golden.release]));
  return files.flatMap((file) => {
    const release = frozen.get(file);
    if (!release) return [];
    if (!existsSync(path.join(dir, file)))
      return [`${file} is a ${release} golden and is missing: restore it from git, never record it again`];
    return overwrite ? [`${file} is a ${release} golden: it is never recorded again`] : [];
  });
}
