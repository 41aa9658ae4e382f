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
    const sends: Promise<void>[] = [];
    if (deps.webhookUrl) sends.push(post('webhook', deps.webhookUrl, webhookBody(n, link), timeoutMs));
    if (CHAT_KINDS.has(n.kind)) {
      if (deps.slackWebhookUrl) sends.push(post('slack', deps.slackWebhookUrl, slackMessage(n, link), timeoutMs));
      if (deps.teamsWebhookUrl) sends.push(post('teams', deps.teamsWebhookUrl, teamsMessage(n, link), timeoutMs));
    }
    const failed = (await Promise.allSettled(sends)).filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) throw failed[0].reason;
  };
}
