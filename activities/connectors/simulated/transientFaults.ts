import { setTimeout as delay } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/activity';
import type { Connector, ConnectorAction, TransientFaults } from '../types';

export type { TransientFaults };

const transient = (call: string, when: string) =>
  ApplicationFailure.create({
    type: 'SimulatedTransientFault',
    message: `simulated transient ${call} failure (${when})`,
    nonRetryable: false,
  });

/**
 * Wraps every call of a connector. Half the faults strike before the call, half after it took
 * effect (the answer was lost): the case where only idempotent actions keep exactly-once.
 */
export function withTransientFaults(connector: Connector, faults: TransientFaults | undefined): Connector {
  if (!faults || (faults.faultRate === 0 && faults.latencyMs === 0)) return connector;
  const unreliable =
    <A extends unknown[], R>(call: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await delay(Math.random() * faults.latencyMs);
      const fault = Math.random() < faults.faultRate ? (Math.random() < 0.5 ? 'before' : 'after') : undefined;
      if (fault === 'before') throw transient(call, 'before the call');
      const result = await fn(...args);
      if (fault === 'after') throw transient(call, 'after it took effect');
      return result;
    };
  const actions = Object.fromEntries(
    Object.entries(connector.actions).map(([name, action]): [string, ConnectorAction] => [
      name,
      {
        ...action,
        run: unreliable(name, action.run),
        ...(action.undo && { undo: unreliable(`undo:${name}`, action.undo) }),
      },
    ]),
  );
  return {
    ...connector,
    actions,
    snapshot: unreliable('snapshot', connector.snapshot),
    verify: unreliable('verify', connector.verify),
  };
}
