// What a step does when the world moves between its attempts, and when a notification's
// receiver hangs: a step that acted reports it, and no webhook holds a case.
import { createServer, type Server } from 'node:http';
import { Context } from '@temporalio/activity';
import type { ActivityInboundCallsInterceptor } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { setKillSwitch } from '../src/killSwitch';
import { moveKillSwitch } from '../src/killSwitch/store';
import { auditQuery, decideUpdate } from '../workflows/definitions';
import { useHarness } from './support/harness';
import { eventually, pendingRequestId, waitForStatus } from './support/scenario';

// A webhook that takes every request and never answers.
let hanging: Server;
let hangingUrl = '';
beforeAll(async () => {
  hanging = createServer(() => undefined);
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  hangingUrl = `http://127.0.0.1:${(hanging.address() as { port: number }).port}/hook`;
});
afterAll(() => {
  hanging?.closeAllConnections();
  hanging?.close();
});

// The first attempt of each run's first action acts, then the kill switch is engaged and the
// attempt fails, as a worker that crashed before it answered would.
const actedOnce = new Set<string>();
const engageAfterActing: ActivityInboundCallsInterceptor = {
  async execute(input, next) {
    const result = await next(input);
    const info = Context.current().info;
    const run = info.workflowExecution?.runId ?? '';
    if (info.activityType === 'actOnIdentity' && !actedOnce.has(run)) {
      actedOnce.add(run);
      await moveKillSwitch(h.db, { engaged: true, by: 'test', reason: 'engaged between attempts' });
      throw new Error('injected: the answer was lost after the action');
    }
    return result;
  },
};
const h = useHarness({
  interceptors: { activity: [() => ({ inbound: engageAfterActing })] },
  notifyWebhookUrl: () => hangingUrl,
});

describe('a step between attempts', () => {
  it('that already acted reports it, though the switch was engaged before the retry', async () => {
    const { id, handle } = await h.contain('gated');
    // restrict acted on its first attempt; the retry reports it instead of being held.
    await pendingRequestId(handle, 'isolate');
    expect(await listActions(h.db, id)).toEqual(['restrict']);
    const audit = await handle.query(auditQuery);
    expect(audit.filter((e) => e.event === 'action.applied').map((e) => e.action)).toEqual(['restrict']);
    expect(audit.some((e) => e.event === 'kill-switch.blocked')).toBe(false);

    // The switch is engaged now: the approved isolate waits, then acts once released.
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'approve', requestId: await pendingRequestId(handle, 'isolate'), approver: 'alice' }],
    });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('kill-switch'));
    // The release wakes the held case (it would otherwise retry on its backoff).
    await setKillSwitch(h.db, h.env.client, { engaged: false, by: 'test' });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'), 60_000);
    expect(await listActions(h.db, id)).toEqual(['restrict', 'isolate']);
  });
});

describe('a notification receiver that hangs', () => {
  it('is reported as failed within the delivery, and the case goes on', async () => {
    const { handle } = await h.contain('gated');
    await pendingRequestId(handle, 'isolate');
    await eventually(
      async () => {
        const failed = (await handle.query(auditQuery)).filter((e) => e.event === 'notify.failed');
        expect(failed.map((e) => e.reason)).toEqual(
          expect.arrayContaining([expect.stringMatching(/^approval-requested \(attempt 1 of 5\): /)]),
        );
      },
      { timeout: 40_000 },
    );
  });
});
