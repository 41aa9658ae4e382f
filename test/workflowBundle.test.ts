// What the workflow bundle may hold: deterministic code only, and no zod, whose schemas the SDK
// would allocate again for every cached workflow. The bundle is the one globalSetup built.
import { readFileSync } from 'node:fs';
import { describe, expect, inject, it } from 'vitest';

const code = readFileSync(inject('workflowBundlePath'), 'utf8');
// Webpack names every module it bundled by its path.
const packages = new Set([...code.matchAll(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].map((m) => m[1]));
const sources = new Set([...code.matchAll(/"\.\/((?:src|workflows|activities|worker)\/[^"]+)"/g)].map((m) => m[1]));

describe('the workflow bundle', () => {
  it('holds no zod, and no package beyond the SDK and the hash library', () => {
    expect(packages.size).toBeGreaterThan(0); // the pattern finds bundled packages at all
    expect(
      [...packages].filter(
        (p) => !['@temporalio/common', '@temporalio/workflow', '@noble/hashes', 'long', 'ms', 'nexus-rpc'].includes(p),
      ),
    ).toEqual([]);
    expect(code).not.toMatch(/node_modules\/zod\//);
  });

  it('holds workflow code and the pure domain, never activities, the worker or schemas', () => {
    expect(sources).toContain('workflows/containIdentity.ts');
    expect([...sources].filter((s) => /^(activities|worker)\//.test(s) || /schema\.ts$/.test(s))).toEqual([]);
  });
});
