import type { Database } from '../src/db';
import { createConnectors } from './connectors/registry';
import { createIdentityActivities } from './identity';

export type { IdentityTarget } from './identity';
export { IdentityFailure } from './identity';

/** What activities need from the process: clients and stores, never config parsing. */
export interface ActivityDeps {
  db: Database;
}

/** Every activity the worker registers. Workflows import this type only. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createIdentityActivities(createConnectors(deps)),
  };
}

/** The activity functions, as workflows see them through `proxyActivities`. */
export type Activities = ReturnType<typeof createActivities>;
