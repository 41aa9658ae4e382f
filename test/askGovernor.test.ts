// A case whose permit request goes unanswered asks again, waiting twice as long each time: under
// load a governor that answers late must not be buried in re-asks (time-skipping server).
import { describe, expect, it } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { GOVERNOR_WORKFLOW_ID } from '../workflows/governorDefinitions';
import { useHarness } from './support/harness';
import { startTimeSkippingServer } from './support/temporal';

const h = useHarness({ server: startTimeSkippingServer, searchAttributes: false });

describe('asking the governor', () => {
  it('re-asks a silent governor after 1, 2, 4, 8 and 16 minutes, then every 16, and acts on nothing', async () => {
    // The governor's id taken by a workflow that never answers: a containment still waiting for
    // its first alert (the cases' start-up of the governor joins it).
    const silent = await h.env.client.workflow.start('containIdentity', {
      workflowId: GOVERNOR_WORKFLOW_ID,
      taskQueue: h.taskQueue,
      args: [{ identity: { provider: 'simulated', id: 'not-a-governor' }, searchAttributes: false }],
    });
    const { id, handle } = await h.contain('auto');
    await h.env.sleep('50 minutes');

    const events = (await handle.fetchHistory()).events ?? [];
    const asked = events.filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes?.workflowExecution?.workflowId === GOVERNOR_WORKFLOW_ID);
    const waits = events.flatMap((e) => {
      const timeout = e.timerStartedEventAttributes?.startToFireTimeout;
      return timeout ? [Number(timeout.seconds)] : [];
    });
    expect(waits.slice(0, 6)).toEqual([60, 120, 240, 480, 960, 960]);
    // Asked at 0, 1, 3, 7, 15, 31 and 47 minutes.
    expect(asked).toHaveLength(7);
    expect(await listActions(h.db, id)).toEqual([]);
    await Promise.all([handle.terminate('test over'), silent.terminate('test over')]);
  });
});
