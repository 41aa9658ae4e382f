// What approvers receive: every notice carries the case's brief (what waits, why, who is hit);
// Slack gets Block Kit with Approve/Deny buttons, Teams an Adaptive Card; a channel that keeps
// failing is retried with the case's deliveries, audited, and shown in status.
import { beforeAll, describe, expect, it } from 'vitest';
import { alertSignal, auditQuery, statusQuery } from '../workflows/definitions';
import { useHarness } from './support/harness';
import { startTimeSkippingServer } from './support/temporal';
import { eventually, pendingRequestId, waitForStatus, WebhookSink } from './support/scenario';

const sinks = {} as { slack: WebhookSink; teams: WebhookSink };
beforeAll(async () => {
  [sinks.slack, sinks.teams] = await Promise.all([WebhookSink.start(), WebhookSink.start()]);
});
// The time-skipping server: a failed notice is retried a minute later, which the test skips to.
const h = useHarness({
  server: startTimeSkippingServer,
  searchAttributes: false,
  webhook: true,
  chatWebhooks: () => ({ slack: sinks.slack.url, teams: sinks.teams.url }),
});

type Block = { type: string; elements?: { action_id: string; value: string }[] };
type Card = {
  contentType: string;
  content: {
    type: string;
    body: { type: string; facts?: { title: string; value: string }[] }[];
    actions: { type: string; url: string }[];
  };
};

describe('notifications', () => {
  it('an approval request carries the brief to the webhook, Slack (with buttons) and Teams', async () => {
    const { handle } = await h.contain('gated', { consumers: ['billing-api', 'ledger'] });
    const requestId = await pendingRequestId(handle, 'isolate');
    const { actionDigest } = (await handle.query(statusQuery)).pendingRequest!;
    const wf = handle.workflowId;

    const [hook] = await eventually(() => {
      const bodies = h.webhook.of('approval-requested', wf);
      expect(bodies).toHaveLength(1);
      return bodies;
    });
    expect(hook).toMatchObject({
      brief: {
        headline: 'active · isolate waits 0/1 approvals (secops)',
        rule: 'gated-isolate',
        blastRadius: { known: true, owner: 'carol', consumers: ['billing-api', 'ledger'] },
        request: { requestId, actionDigest, onTimeout: 'hold', reversible: true },
      },
      commands: { cordon: expect.stringContaining(`--request ${requestId} --digest ${actionDigest}`) },
    });

    const slack = await eventually(() => {
      const message = sinks.slack.received.find((m) => JSON.stringify(m).includes(requestId));
      expect(message).toBeDefined();
      return message as { text: string; blocks: Block[] };
    });
    expect(slack.text).toMatch(/^Approval requested: simulated:/);
    const buttons = slack.blocks.find((b) => b.type === 'actions')!.elements!;
    expect(buttons.map((b) => b.action_id)).toEqual(['cordon_approve', 'cordon_deny']);
    expect(JSON.parse(buttons[0].value)).toEqual({ workflowId: wf, requestId, actionDigest });

    const teams = await eventually(() => {
      const message = sinks.teams.received.find((m) => JSON.stringify(m).includes(requestId));
      expect(message).toBeDefined();
      return (message as { attachments: Card[] }).attachments[0];
    });
    expect(teams.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(teams.content.type).toBe('AdaptiveCard');
    const facts = teams.content.body.find((b) => b.type === 'FactSet')!.facts!;
    expect(facts).toContainEqual({ title: 'Owner', value: 'carol' });
    expect(facts).toContainEqual({ title: 'Request', value: `${requestId} (isolate at isolate)` });
    expect(teams.content.actions[0]).toMatchObject({
      type: 'Action.OpenUrl',
      url: expect.stringContaining(encodeURIComponent(wf)),
    });
  });

  it('a channel that fails is retried a minute later, audited, and shown in status; one that keeps failing is given up', async () => {
    sinks.teams.failNext = 1_000;
    const { id, handle } = await h.contain('gated');
    const requestId = await pendingRequestId(handle, 'isolate');
    const failing = await waitForStatus(handle, (s) =>
      expect(s.undelivered?.[0]).toMatchObject({ kind: 'approval-requested', attempts: 1, gaveUp: false }),
    );
    expect(failing.undelivered?.[0].error).toMatch(/teams answered 500/);
    expect((await handle.query(auditQuery)).find((e) => e.event === 'notify.failed')?.reason).toMatch(/attempt 1 of 5/);

    // New evidence is delivered at once, but a failed notice not before its minute.
    await handle.signal(alertSignal, h.alertFor(id, { id: `late-${id}` }));
    await waitForStatus(handle, (s) => expect(s.alerts).toHaveLength(2));
    expect((await handle.query(statusQuery)).undelivered?.[0].attempts).toBe(1);

    // Teams is back: a minute later the waiting case sends it again on its own.
    sinks.teams.failNext = 0;
    await h.env.sleep('61s');
    await waitForStatus(handle, (s) => expect(s.undelivered).toEqual([]));
    expect(sinks.teams.received.some((m) => JSON.stringify(m).includes(requestId))).toBe(true);
    // The retry went to Teams only: the webhook and Slack, which took it the first time, got it once.
    expect(h.webhook.of('approval-requested', handle.workflowId)).toHaveLength(1);
    expect(sinks.slack.received.filter((m) => JSON.stringify(m).includes(requestId))).toHaveLength(1);

    // A receiver that stays down: five attempts, then the notice is given up, and status says so.
    sinks.teams.failNext = 1_000;
    const other = await h.contain('gated');
    await pendingRequestId(other.handle, 'isolate');
    for (let attempt = 2; attempt <= 5; attempt++) {
      await h.env.sleep('61s');
      await waitForStatus(other.handle, (s) => expect(s.undelivered?.[0].attempts).toBe(attempt));
    }
    expect((await other.handle.query(statusQuery)).undelivered?.[0]).toMatchObject({
      kind: 'approval-requested',
      attempts: 5,
      gaveUp: true,
    });
    expect((await other.handle.query(auditQuery)).filter((e) => e.event === 'notify.abandoned')).toHaveLength(1);
    sinks.teams.failNext = 0;
  });

  it('a channel that refuses a notice (4xx) is not tried again: it is given up at once, and says so', async () => {
    sinks.slack.failNext = 1;
    sinks.slack.failStatus = 400;
    try {
      const { handle } = await h.contain('gated');
      await pendingRequestId(handle, 'isolate');
      const refused = await waitForStatus(handle, (s) =>
        expect(s.undelivered?.[0]).toMatchObject({ kind: 'approval-requested', attempts: 1, gaveUp: true }),
      );
      expect(refused.undelivered?.[0].error).toMatch(/slack answered 400/);
      expect((await handle.query(auditQuery)).filter((e) => e.event === 'notify.abandoned')).toHaveLength(1);
    } finally {
      sinks.slack.failStatus = 500;
    }
  });
});
