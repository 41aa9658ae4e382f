// Bundles the workflow code once per run; every test worker loads the same bundle file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { bundleWorkflows } from '../../worker/bundle';

declare module 'vitest' {
  export interface ProvidedContext {
    workflowBundlePath: string;
  }
}

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(path.join(tmpdir(), 'cordon-bundle-'));
  const codePath = path.join(dir, 'workflows.js');
  const { code } = await bundleWorkflows();
  writeFileSync(codePath, code);
  project.provide('workflowBundlePath', codePath);
  return () => rmSync(dir, { recursive: true, force: true });
}
