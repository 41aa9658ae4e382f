// `npm run build`'s output runs on its own: the CLI, the paths into the project, source maps and
// the prebuilt workflow bundle work from dist/ as they do from the sources. The build runs in a
// scratch copy of the project, not in this clone: other tests run bin/cordon.js, which would
// pick up a dist/ half written.
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, ROOT } from './support/processes';

// What the build reads (the sources, package.json, the tsconfigs, scripts/), and what the
// compiled CLI reads beside dist/.
const SOURCES = ['src', 'activities', 'worker', 'workflows'];
const COPIED = [
  ...SOURCES,
  'package.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'scripts',
  'bin',
  'config',
  'examples',
  'schema',
  'README.md',
  'CHANGELOG.md',
];
const HISTORIES = path.join(ROOT, 'test', 'histories');

let project: string;
let copiedAt: number;

const run = (command: string, args: string[]) => finished(spawn(command, args, { cwd: project }));

// Says on stderr, at exit, whether tsx was loaded: bin/cordon.js ran the sources rather than dist/.
const PROBE =
  "process.on('exit', () => process.stderr.write(`tsx:${Object.keys(require.cache).some((f) => f.includes('/node_modules/tsx/'))}`));";

const compiledIsCurrent = () =>
  (require(path.join(project, 'bin', 'cordon.js')) as { compiledIsCurrent(): boolean }).compiledIsCurrent();
const touch = (file: string, at: number) => utimesSync(path.join(project, file), new Date(at), new Date(at));

beforeAll(async () => {
  project = mkdtempSync(path.join(tmpdir(), 'cordon-build-'));
  for (const entry of COPIED) cpSync(path.join(ROOT, entry), path.join(project, entry), { recursive: true });
  copiedAt = Date.now();
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(project, 'node_modules'));
  writeFileSync(path.join(project, 'probe.js'), PROBE);
  const built = await run('npm', ['run', '--silent', 'build']);
  expect(built).toMatchObject({
    code: 0,
    stderr: expect.stringContaining('workflow bundle written to dist/workflow-bundle.js'),
  });
}, 600_000);
afterAll(() => rmSync(project, { recursive: true, force: true }));

describe('npm run build', () => {
  it('compiles the project into dist/ with its layout, one level down', () => {
    for (const dir of SOURCES) expect(readdirSync(path.join(project, 'dist', dir)).length, dir).toBeGreaterThan(0);
    expect(readdirSync(path.join(project, 'dist', 'src', 'cli'))).toEqual(
      expect.arrayContaining(['main.js', 'main.js.map']),
    );
  });

  it('resolves the project root and the workflows entry point from dist/ as from the sources', async () => {
    const paths = await run(process.execPath, [
      '-e',
      "const b = require('./dist/worker/bundle'); const r = require('./dist/src/temporal/binaries'); console.log(JSON.stringify([r.PROJECT_ROOT, b.WORKFLOWS_PATH]))",
    ]);
    expect(JSON.parse(paths.stdout)).toEqual([project, path.join(project, 'dist', 'workflows', 'index.js')]);
  });

  it('keeps stack traces pointing at the TypeScript sources, with --enable-source-maps', async () => {
    const thrown = await run(process.execPath, [
      '--enable-source-maps',
      '-e',
      "require('./dist/src/policy/load').loadPolicy('/nonexistent.yaml')",
    ]);
    expect(thrown.code).toBe(1);
    expect(thrown.stderr).toMatch(/src\/policy\/load\.ts:\d+:\d+/);
  });

  it('prebuilds a workflow bundle that replays every golden history', async () => {
    const histories = readdirSync(HISTORIES)
      .filter((f) => f.endsWith('.json'))
      .map((f) => path.join(HISTORIES, f));
    const replayed = await run(process.execPath, [
      'bin/cordon.js',
      'replay',
      '--bundle',
      'dist/workflow-bundle.js',
      ...histories,
    ]);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(JSON.parse(replayed.stdout)).toEqual({ replayed: histories.length, failed: [] });
  });
});

describe('bin/cordon.js', () => {
  it('runs dist/ while it is newer than every source, without tsx', async () => {
    expect(compiledIsCurrent()).toBe(true);
    for (const args of [['--help'], ['plan', 'examples/alerts/secret-leak.json']]) {
      const ran = await run(process.execPath, ['-r', './probe.js', 'bin/cordon.js', ...args]);
      expect(ran, args.join(' ')).toMatchObject({ code: 0, stderr: 'tsx:false' });
    }
  });

  it('runs the sources through tsx once a source is edited after the build', async () => {
    touch('src/cli/io.ts', Date.now() + 60_000);
    expect(compiledIsCurrent()).toBe(false);
    const ran = await run(process.execPath, [
      '-r',
      './probe.js',
      'bin/cordon.js',
      'plan',
      'examples/alerts/secret-leak.json',
    ]);
    expect(ran).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('high-confidence-compromise'),
      stderr: 'tsx:true',
    });
    touch('src/cli/io.ts', copiedAt);
    expect(compiledIsCurrent()).toBe(true);
  });

  it('counts a source removed after the build as a change: its folder changed', () => {
    touch('dist/workflow-bundle.js', (copiedAt + Date.now()) / 2);
    expect(compiledIsCurrent()).toBe(true);
    rmSync(path.join(project, 'workflows', 'alertLimits.ts'));
    expect(compiledIsCurrent()).toBe(false);
  });

  it('always runs dist/ where there are no sources, as in the image', async () => {
    for (const dir of SOURCES) rmSync(path.join(project, dir), { recursive: true });
    expect(compiledIsCurrent()).toBe(true);
    const ran = await run(process.execPath, ['-r', './probe.js', 'bin/cordon.js', '--help']);
    expect(ran).toMatchObject({ code: 0, stderr: 'tsx:false' });
  });
});

describe('npm pack', () => {
  it('packs what a user runs, and no tests, benches, recorded results or TypeScript sources', async () => {
    // The build ran above; prepack would run it again.
    const packed = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']);
    expect(packed.code).toBe(0);
    const [{ files }] = JSON.parse(packed.stdout) as [{ files: { path: string }[] }];
    const paths = files.map((f) => f.path);
    for (const needed of [
      'package.json',
      'README.md',
      'CHANGELOG.md',
      'bin/cordon.js',
      'dist/src/main.js',
      'dist/src/cli/main.js',
      'dist/workflow-bundle.js',
      'config/policy.yaml',
      'config/temporal/cluster.yaml',
      'schema/policy.schema.json',
      'examples/alerts/secret-leak.json',
    ])
      expect(paths, needed).toContain(needed);
    const unwanted = paths.filter((p) =>
      /^(test|bench|src|activities|worker|workflows|scripts|\.tools|\.cordon)\//.test(p),
    );
    expect(unwanted).toEqual([]);
    expect(paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts'))).toEqual([]);
  });
});
