import type { Database } from '../../../src/db';
import type { ActionName, ConnectorAction } from '../types';
import { applyOnce, type SimulatedState } from './state';

/** A reversible simulated action: `on` applies it, `off` undoes it, `show` reports the field. */
export function reversibleAction(
  db: Database,
  spec: {
    name: ActionName;
    description: string;
    on: (s: SimulatedState) => SimulatedState;
    off: (s: SimulatedState) => SimulatedState;
    show: (s: SimulatedState) => Record<string, unknown>;
  },
): ConnectorAction {
  const step =
    (action: string, change: (s: SimulatedState) => SimulatedState) =>
    async ({ identityId, idempotencyKey }: { identityId: string; idempotencyKey: string }) => {
      const { applied, state } = await applyOnce(db, idempotencyKey, identityId, action, change);
      return { changed: applied, detail: spec.show(state) };
    };
  return {
    name: spec.name,
    description: spec.description,
    permissions: ['simulated:write'],
    reversible: true,
    run: step(spec.name, spec.on),
    undo: step(`undo:${spec.name}`, spec.off),
  };
}
