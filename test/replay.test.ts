// The determinism guard: every golden history in test/histories/ replays with today's workflow
// code, and the `cordon replay` command finds nondeterminism in files and in live workflows.
// test/frozenGoldens.test.ts keeps the goldens 1.0.0 shipped among them, unchanged.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { resolveTemporalCli } from '../src/temporal/binaries';
import { historyFromJson, workflowIdIn } from '../src/temporal/historyJson';
import { useHarness } from './support/harness';
import { ROOT, runTs } from './support/processes';
import { eventually, pendingRequestId } from './support/scenario';

const HISTORIES = path.join(__dirname, 'histories');
const files = readdirSync(HISTORIES)
  .filter((f) => f.endsWith('.json'))
  .map((f) => path.join(HISTORIES, f));
const workflowIdOfFile = (file: string) => workflowIdIn(historyFromJson(JSON.parse(readFileSync(file, 'utf8'))));
const h = useHarness();
const bundle = () => inject('workflowBundlePath');

// A copy of containIdentity that starts a timer before it opens the case: `change` says whether
// the change is made plainly (which no recorded containment can replay) or behind patched().
async function buildChangedBundle(change: 'plain' | 'patched'): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), `cordon-${change}-`));
  const source = readFileSync(path.join(ROOT, 'workflows', 'containIdentity.ts'), 'utf8');
  const anchor = 'const opening = await bookkeeping.openCase(';
  expect(source).toContain(anchor);
  const timer =
    change === 'plain'
      ? "await changeSleep('1 second');"
      : "if (changePatched('example-change')) await changeSleep('1 second');";
  const changed = source
    // Relative imports point back into the repository.
    .replace(/from '\.\/([^']+)'/g, (_, p) => `from '${path.join(ROOT, 'workflows', p)}'`)
    .replace(/from '\.\.\/([^']+)'/g, (_, p) => `from '${path.join(ROOT, p)}'`)
    .replace(anchor, `${timer}\n  ${anchor}`)
    .replace(/^/, "import { patched as changePatched, sleep as changeSleep } from '@temporalio/workflow';\n");
  writeFileSync(path.join(dir, 'containIdentity.ts'), changed);
  writeFileSync(path.join(dir, 'index.ts'), `export { containIdentity } from './containIdentity';\n`);
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(dir, 'index.ts'),
    // The copy lives outside the repository: resolve packages from the repository's node_modules.
    webpackConfigHook: (config) => ({
      ...config,
      resolve: { ...config.resolve, modules: [path.join(ROOT, 'node_modules'), 'node_modules'] },
    }),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) },
  });
  const codePath = path.join(dir, 'workflows.js');
  writeFileSync(codePath, code);
  return codePath;
}

let nondeterministic: string;
let patchedChange: string;
beforeAll(async () => {
  [nondeterministic, patchedChange] = await Promise.all([buildChangedBundle('plain'), buildChangedBundle('patched')]);
});

// Histories of runs that opened their case (a continued run starts from carried state).
const opensACase = (file: string) => readFileSync(file, 'utf8').includes('"openCase"');

const cordon = (args: string[], env: Record<string, string> = {}) =>
  runTs('bin/cordon.js', ['replay', ...args], { CORDON_WORKFLOW_BUNDLE: '', TEMPORAL_ADDRESS: h.env.address, ...env });

describe('golden histories', () => {
  const replayAll = async (codePath: string) => {
    const histories = files.map((file) => {
      const history = historyFromJson(JSON.parse(readFileSync(file, 'utf8')));
      return { history, workflowId: workflowIdIn(history) ?? file };
    });
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath } }, histories))
      results.push(result);
    expect(results).toHaveLength(files.length);
    return results.filter((r) => r.error).map((r) => `${r.workflowId}: ${r.error}`);
  };

  it('all replay with the current workflow code', async () => {
    expect(await replayAll(bundle())).toEqual([]);
  });

  it('all replay with a change made behind patched(), as every change after 1.0 must be', async () => {
    expect(await replayAll(patchedChange)).toEqual([]);
  });
});

describe('cordon replay', () => {
  it('exits 0 when every file replays, bundling the sources when no bundle is named', async () => {
    const prebuilt = await cordon(['--bundle', bundle(), ...files]);
    expect(prebuilt.code, prebuilt.stderr).toBe(0);
    expect(JSON.parse(prebuilt.stdout)).toEqual({ replayed: files.length, failed: [] });

    const fromSource = await cordon([path.join(HISTORIES, 'approval.json')]);
    expect(fromSource.code, fromSource.stderr).toBe(0);
    expect(JSON.parse(fromSource.stdout)).toEqual({ replayed: 1, failed: [] });
  });

  it('exits 1 naming each workflow that a nondeterministic change breaks, with the error', async () => {
    const containments = files.filter(opensACase);
    const run = await cordon(files, { CORDON_WORKFLOW_BUNDLE: nondeterministic });
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.replayed).toBe(files.length);
    // A continued run does not open its case again: only the runs that did fail.
    expect(report.failed.map((f: { file: string }) => f.file).sort()).toEqual(containments.sort());
    for (const file of containments) {
      const workflowId = workflowIdOfFile(file)!;
      expect(workflowId).toMatch(/^(shadow:)?contain:simulated:/);
      expect(run.stderr).toMatch(
        new RegExp(`${workflowId} \\(${file}\\) does not replay: DeterminismViolationError: .*[Nn]ondetermin`),
      );
    }
  });

  it('--query replays live workflows from the server, and names the run that breaks', async () => {
    const { handle } = await h.contain('gated');
    await pendingRequestId(handle, 'isolate');
    const query = `WorkflowType="containIdentity" AND WorkflowId="${handle.workflowId}"`;
    await eventually(async () => {
      for await (const found of h.env.client.workflow.list({ query }))
        return expect(found.workflowId).toBe(handle.workflowId);
      throw new Error('not visible yet');
    });

    const ok = await cordon(['--query', query, '--bundle', bundle()]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ replayed: 1, failed: [] });

    const broken = await cordon(['--query', query, '--bundle', nondeterministic]);
    expect(broken.code).toBe(1);
    const { runId } = await handle.describe();
    expect(broken.stderr).toContain(`${handle.workflowId} (run ${runId}) does not replay: DeterminismViolationError`);

    // The same execution exported by the real Temporal CLI replays from its file.
    const exported = path.join(mkdtempSync(path.join(tmpdir(), 'cordon-export-')), 'live.json');
    const cli = resolveTemporalCli().path as string;
    writeFileSync(
      exported,
      execFileSync(cli, [
        'workflow',
        'show',
        '--address',
        h.env.address,
        '--workflow-id',
        handle.workflowId,
        '--output',
        'json',
      ]),
    );
    const fromExport = await cordon(['--bundle', bundle(), exported]);
    expect(fromExport.code, fromExport.stderr).toBe(0);
    expect(JSON.parse(fromExport.stdout)).toEqual({ replayed: 1, failed: [] });

    // A query that matches nothing checked nothing: a usage error, never a pass.
    const none = await cordon(['--query', 'WorkflowType="containidentity"', '--bundle', bundle()]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('replay: no workflow matches WorkflowType="containidentity"');
  });

  it('exits 2 without files or a query, and on an unreadable or invalid file', async () => {
    const invalid = path.join(mkdtempSync(path.join(tmpdir(), 'cordon-invalid-')), 'not-a-history.json');
    writeFileSync(invalid, JSON.stringify({ events: 'none' }));
    for (const args of [
      [],
      ['/nonexistent/history.json'],
      [invalid],
      ['--bundle', '/nonexistent/bundle.js', files[0]],
    ]) {
      const run = await cordon(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/^cordon: /);
    }
  });
});
