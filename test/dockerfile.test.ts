// The container image builds the compiled service in one stage and runs it, without sources,
// compiler or tsx, as a non-root user in another; docker-compose.yml's jobs run the same compiled
// code. There is no Docker engine here: these checks read the Dockerfile, the build's config and
// the sources, and ask tsc what the build compiles.
import { execFile } from 'node:child_process';
import { builtinModules } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../src/temporal/binaries';

const read = (file: string) => readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
const packageJson = JSON.parse(read('package.json')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};
const buildConfig = JSON.parse(read('tsconfig.build.json')) as {
  compilerOptions: { outDir: string; rootDir: string };
  include: string[];
};

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  name?: string;
  instructions: Instruction[];
}

/** The Dockerfile's stages, each a list of instructions with continuation lines joined. */
function stages(dockerfile: string): Stage[] {
  const lines = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const result: Stage[] = [];
  for (const line of lines) {
    const [, keyword, args] = /^(\S+)\s+(.*)$/.exec(line)!;
    if (keyword.toUpperCase() === 'FROM') result.push({ name: /\sAS\s+(\S+)$/i.exec(args)?.[1], instructions: [] });
    result.at(-1)!.instructions.push({ keyword: keyword.toUpperCase(), args });
  }
  return result;
}

const all = stages(read('Dockerfile'));
const runtime = all.at(-1)!;
const build = all.find((stage) => stage.name === 'build')!;
const each = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
const last = (stage: Stage, keyword: string) => each(stage, keyword).at(-1)?.args;
const runs = (stage: Stage) => each(stage, 'RUN').map((i) => i.args);
const workdir = (stage: Stage) => last(stage, 'WORKDIR')!;

/** `node [flags] dist/X.js …`'s X.ts, when a command runs a compiled file. */
function sourceOf(command: string[]): string | undefined {
  const script = command.find((arg) => !arg.startsWith('-') && arg !== 'node');
  const compiled = script && /^(?:\/app\/)?dist\/(.+)\.js$/.exec(script)?.[1];
  return compiled ? `${compiled}.ts` : undefined;
}

/** Whether the build (tsconfig.build.json) compiles this source into dist/. */
const compiledByBuild = (source: string) =>
  existsSync(path.join(PROJECT_ROOT, source)) &&
  buildConfig.include.some((included) => source === included || source.startsWith(`${included}/`));

describe('Dockerfile', () => {
  it('builds in a stage with every dependency, and runs in one with production dependencies only', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    expect(build).toBeDefined();
    expect(runs(build).some((run) => /\bnpm ci\b/.test(run) && !run.includes('--omit=dev'))).toBe(true);
    expect(runs(build)).toContain('npm run build');
    expect(runs(runtime).some((run) => /\bnpm ci\b.*--omit=dev/.test(run))).toBe(true);
    expect(runs(runtime).join('\n')).not.toMatch(/npm run build|tsx/);
  });

  it('runs the compiled service from dist/, with source maps, as the non-root node user', () => {
    const cmd = JSON.parse(last(runtime, 'CMD')!) as string[];
    expect(cmd).toContain('--enable-source-maps');
    expect(sourceOf(cmd)).toBe('src/main.ts');
    expect(compiledByBuild(sourceOf(cmd)!)).toBe(true);
    expect(last(runtime, 'USER')).toBe('node');
    const order = runtime.instructions.map((i) => i.keyword);
    expect(order.lastIndexOf('USER')).toBeLessThan(order.lastIndexOf('CMD'));
  });

  it('copies from the build stage only what `npm run build` writes there', () => {
    const outDir = path.posix.join(workdir(build), buildConfig.compilerOptions.outDir);
    const fromBuild = each(runtime, 'COPY').filter((i) => i.args.startsWith('--from='));
    expect(fromBuild.length).toBeGreaterThan(0);
    for (const { args } of fromBuild) {
      const [from, source] = args.split(/\s+/);
      expect(from).toBe('--from=build');
      expect(source === outDir || source.startsWith(`${outDir}/`), source).toBe(true);
    }
    expect(buildConfig.compilerOptions.rootDir).toBe('.');
    expect(packageJson.scripts.build).toContain('tsc -p tsconfig.build.json');
  });

  it('points the worker at the workflow bundle the build writes into dist/', () => {
    const bundle = /CORDON_WORKFLOW_BUNDLE=(\S+)/.exec(
      each(runtime, 'ENV')
        .map((i) => i.args)
        .join(' '),
    )![1];
    const written = /\?\? '([^']+)'/.exec(read('scripts/bundle-workflows.ts'))![1];
    expect(packageJson.scripts.build).toMatch(/node dist\/scripts\/bundle-workflows\.js$/);
    expect(bundle).toBe(path.posix.join(workdir(runtime), written));
  });

  it('copies into the build stage every file the build compiles', async () => {
    const copied = each(build, 'COPY').flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    const { stdout } = await promisify(execFile)('npx', ['tsc', '-p', 'tsconfig.build.json', '--listFilesOnly'], {
      cwd: PROJECT_ROOT,
    });
    const compiled = stdout
      .split('\n')
      .filter((file) => file && !file.includes('/node_modules/'))
      .map((file) => path.relative(PROJECT_ROOT, file));
    expect(compiled).toContain('src/main.ts');
    for (const file of compiled)
      expect(
        copied.some((c) => file.startsWith(`${c}/`)),
        file,
      ).toBe(true);
    expect(copied).toEqual(expect.arrayContaining(['package-lock.json', 'tsconfig.json', 'tsconfig.build.json']));
  }, 120_000);

  it('keeps what the compose jobs need: openssl, and /credentials writable by node', () => {
    const setup = runs(runtime).join('\n');
    expect(setup).toMatch(/apt-get install[^\n]*\bopenssl\b/);
    expect(setup).toMatch(/mkdir -p[^\n]*\/credentials/);
    expect(setup).toMatch(/chown -R node:node[^\n]*\/credentials/);
  });
});

/** Packages a source file loads at run time: its value imports and requires, not `import type`. */
function packagesImported(source: string): string[] {
  const specifiers = [
    ...[...source.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?\sfrom\s+'([^']+)'/gms)]
      .filter((m) => !m[1])
      .map((m) => m[2]),
    ...[...source.matchAll(/\b(?:require|import)\('([^']+)'\)/g)].map((m) => m[1]),
  ];
  return specifiers
    .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtinModules.includes(s))
    .map((s) =>
      s
        .split('/')
        .slice(0, s.startsWith('@') ? 2 : 1)
        .join('/'),
    );
}

describe('the compiled code at run time', () => {
  it('loads only production dependencies, which the runtime stage installs, and no tsx', async () => {
    const { stdout } = await promisify(execFile)('git', ['ls-files', ...buildConfig.include], { cwd: PROJECT_ROOT });
    const sources = stdout.split('\n').filter((file) => file.endsWith('.ts'));
    expect(sources.length).toBeGreaterThan(100);
    const needed = new Set(sources.flatMap((file) => packagesImported(read(file))));
    expect(needed).toContain('@temporalio/worker');
    for (const name of needed) expect(packageJson.dependencies, name).toHaveProperty([name]);
    expect(packageJson.dependencies).not.toHaveProperty(['tsx']);
    expect(packageJson.devDependencies).toHaveProperty(['tsx']);
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as {
    services: Record<string, { build?: string; entrypoint?: string[]; command?: string[] }>;
  };
  const cordonImage = Object.entries(compose.services).filter(([, s]) => s.build === '.');

  it("runs every job of Cordon's image from the compiled code, as the image runs the service", () => {
    const jobs = cordonImage.filter(([, s]) => s.entrypoint ?? s.command);
    expect(jobs.map(([name]) => name).sort()).toEqual(['credentials', 'temporal-namespace']);
    for (const [name, s] of jobs) {
      const command = (s.entrypoint ?? s.command)!;
      expect(command.join(' '), name).not.toContain('tsx');
      expect(sourceOf(command), name).toBe('src/cluster/jobs.ts');
      expect(compiledByBuild(sourceOf(command)!), name).toBe(true);
    }
  });
});
