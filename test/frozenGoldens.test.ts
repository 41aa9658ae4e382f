// The versioning clock: the goldens 1.0.0 shipped stay as they shipped, so test/replay.test.ts keeps
// proving that today's workflow code replays what 1.0.0 cases recorded. New goldens may be added.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  frozenGoldenProblems,
  frozenGoldens,
  HISTORIES_DIR,
  KEEP_FROZEN,
  recordingRefusals,
  sha256OfFile,
} from './histories/frozen';
import { runTs } from './support/processes';

// A copy of the histories folder, to break on purpose.
function copyOfHistories(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cordon-goldens-'));
  cpSync(HISTORIES_DIR, dir, { recursive: true });
  return dir;
}

describe('the 1.0.0 goldens', () => {
  it('are frozen by the 1.0.0 manifest, one per containment path of 1.0', () => {
    const released = frozenGoldens().filter((g) => g.release === '1.0.0');
    expect(released.map((g) => path.basename(g.file, '.json')).sort()).toEqual(
      [
        'auto-containment',
        'approval',
        'm-of-n',
        'denial',
        'false-positive',
        'compensation-failure',
        ...['hold', 'proceed', 'abort', 'rollback', 'lapse'].map((rule) => `approval-timeout-${rule}`),
        'kill-switch',
        'over-budget',
        'pause',
        'continue-as-new',
        'continued-run',
        'approval-continued',
        'approval-resumed',
        'new-round',
        'shadow',
        'verified-approval',
      ].sort(),
    );
  });

  it('are in test/histories byte for byte as 1.0.0 shipped them', () => {
    expect(frozenGoldenProblems()).toEqual([]);
  });

  it('a re-recorded or deleted one fails, saying to keep it and record a new golden beside it', () => {
    const dir = copyOfHistories();
    try {
      writeFileSync(path.join(dir, 'approval.json'), '{"events":[]}\n');
      rmSync(path.join(dir, 'denial.json'));
      writeFileSync(path.join(dir, 'a-new-path.json'), '{"events":[]}\n'); // new goldens are welcome
      const problems = frozenGoldenProblems(dir);
      expect(problems).toEqual([
        expect.stringMatching(/^approval\.json: the 1\.0\.0 golden was re-recorded or edited \(sha256 [0-9a-f]{64}, /),
        expect.stringMatching(/^denial\.json: the 1\.0\.0 golden was deleted; /),
      ]);
      for (const problem of problems) expect(problem).toContain(KEEP_FROZEN);
      expect(KEEP_FROZEN).toMatch(/patched\(\).*NEW golden/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npm run histories:record', () => {
  it('records new goldens, and never a frozen one again, even when it went missing', () => {
    const dir = copyOfHistories();
    try {
      rmSync(path.join(dir, 'denial.json'));
      expect(recordingRefusals(['a-new-path.json', 'approval.json'], false, dir)).toEqual([]);
      expect(recordingRefusals(['a-new-path.json'], true, dir)).toEqual([]);
      expect(recordingRefusals(['a-new-path.json', 'approval.json', 'denial.json'], true, dir)).toEqual([
        'approval.json is a 1.0.0 golden: it is never recorded again',
        'denial.json is a 1.0.0 golden and is missing: restore it from git, never record it again',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--overwrite of a frozen golden exits 2, names it and the way forward, and records nothing', async () => {
    const file = path.join(HISTORIES_DIR, 'approval.json');
    const before = sha256OfFile(file);
    for (const args of [['approval', '--overwrite'], ['--overwrite']]) {
      const run = await runTs('scripts/record-histories.ts', args, {});
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain('histories:record: approval.json is a 1.0.0 golden: it is never recorded again');
      expect(run.stderr).toContain(`histories:record: nothing recorded; ${KEEP_FROZEN}`);
      expect(run.stdout).toBe('');
    }
    expect(sha256OfFile(file)).toBe(before);
  });
});
