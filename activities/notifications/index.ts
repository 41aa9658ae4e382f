// Where a case's notices go: the generic webhook, Slack (Block Kit with buttons) and Teams
// (an Adaptive Card), each when configured. A notice counts as sent when every channel took it.
import { ApplicationFailure } from '@temporalio/activity';
import type { Notice } from '../../src/domain/case';
import type { Logger } from '../../src/log';
import { slackMessage } from './slack';
import { teamsMessage } from './teams';
import { webhookBody } from './webhook';

/** Where notifications go and how links are built. */
export interface NotifyDeps {
  webhookUrl?: string;
  slackWebhookUrl?: string;
  teamsWebhookUrl?: string;
  uiUrl: string;
  namespace: string;
  logger: Logger;
}

// Slack and Teams show approval requests and what needs a human, not every bookkeeping notice.
const CHAT_KINDS = new Set<Notice['kind']>([
  'approval-requested',
  'approval-reminder',
  'approval-escalated',
  'needs-attention',
  'decision-refused',
]);

/** Some channels failed to take a notice; `retry` lists those worth trying again. */
export class NoticeFailure extends Error {
  constructor(
    message: string,
    readonly retry: string[],
  ) {
    super(message);
    this.name = 'NoticeFailure';
  }
}

async function post(channel: string, url: string, body: unknown, timeoutMs: number): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.status >= 400 && res.status < 500 && res.status !== 429) {
    throw ApplicationFailure.create({
      type: 'WebhookRejected',
      message: `${channel} answered ${res.status}`,
      nonRetryable: true,
    });
  }
  if (!res.ok) throw new Error(`${channel} answered ${res.status}`);
}

/** Sends one notice to every configured channel, within `timeoutMs`. */
export function noticeSender(deps: NotifyDeps) {
  return async function sendNotice(n: Notice, timeoutMs: number): Promise<void> {
    const link = `${deps.uiUrl}/namespaces/${encodeURIComponent(deps.namespace)}/workflows/${encodeURIComponent(n.workflowId)}/${n.runId}/history`;
    deps.logger.info(
      { notification: n.kind, workflowId: n.workflowId, requestId: n.request?.requestId },
      'notification',
    );
    const chat = CHAT_KINDS.has(n.kind);
    const channels = [
      { name: 'webhook', url: deps.webhookUrl, body: () => webhookBody(n, link) },
      { name: 'slack', url: chat ? deps.slackWebhookUrl : undefined, body: () => slackMessage(n, link) },
      { name: 'teams', url: chat ? deps.teamsWebhookUrl : undefined, body: () => teamsMessage(n, link) },
    ].filter((c) => c.url && (!n.channels || n.channels.includes(c.name)));
    const results = await Promise.allSettled(channels.map((c) => post(c.name, c.url!, c.body(), timeoutMs)));
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ channel: channels[i].name, err: r.reason }] : [],
    );
    if (!failed.length) return;
    // A receiver that refused the notice (4xx) will refuse it again: only the others are retried.
    const retry = failed
      .filter((f) => !(f.err instanceof ApplicationFailure && f.err.nonRetryable))
      .map((f) => f.channel);
    throw new NoticeFailure(failed.map((f) => (f.err as Error).message).join('; '), retry);
  };
}
