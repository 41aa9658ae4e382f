import { existsSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

/** The workflows entry point the bundler starts from: the sources, or their compiled copy in dist/. */
export const WORKFLOWS_PATH = path.resolve(__dirname, '..', 'workflows', `index${path.extname(__filename)}`);

/**
 * A prebuilt bundle when `codePath` names one (production images build it at image build
 * time); otherwise bundles the workflow sources now.
 */
export async function loadWorkflowBundle(
  codePath?: string,
): Promise<{ codePath: string } | WorkflowBundleWithSourceMap> {
  if (codePath) {
    if (!existsSync(codePath)) throw new Error(`CORDON_WORKFLOW_BUNDLE points at ${codePath}, which does not exist`);
    return { codePath };
  }
  return bundleWorkflows();
}

/** Bundles the workflow sources (webpack), logging only warnings and errors. */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
}

// The bundler reports every module at info level; only problems are worth a log line.
export const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};
