import { ApplicationFailure } from '@temporalio/activity';
import type { IdentityRef } from '../src/alerts/schema';
import type { Logger } from '../src/log';
import type { ApprovalRequest, NotificationKind } from '../workflows/definitions';

/** Where notifications go and how links are built. */
export interface NotifyDeps {
  webhookUrl?: string;
  uiUrl: string;
  namespace: string;
  logger: Logger;
}

/** What the workflow asks to announce. */
export interface NotificationInput {
  kind: NotificationKind;
  workflowId: string;
  runId: string;
  identity: IdentityRef;
  stage: string;
  outcome: string;
  request?: ApprovalRequest;
  /** From a shadow (dry-run) case: approving it performs nothing on the identity. */
  shadow?: true;
}

/** The JSON body approvers' tooling receives: the facts plus ready-to-run commands and a link. */
export function notificationBody(n: NotificationInput, deps: Pick<NotifyDeps, 'uiUrl' | 'namespace'>) {
  const link = `${deps.uiUrl}/namespaces/${encodeURIComponent(deps.namespace)}/workflows/${encodeURIComponent(n.workflowId)}/${n.runId}/history`;
  const commands = n.request && {
    approve: `temporal workflow signal --workflow-id '${n.workflowId}' --name approve --input '${JSON.stringify({ requestId: n.request.requestId, approver: '<you>', reason: '<why>' })}'`,
    deny: `temporal workflow signal --workflow-id '${n.workflowId}' --name deny --input '${JSON.stringify({ requestId: n.request.requestId, approver: '<you>', reason: '<why>' })}'`,
    cordon: `cordon approve '${n.workflowId}' --request ${n.request.requestId} --as <you> --reason '<why>'`,
  };
  return { ...n, link, commands };
}

/** Sends approval requests, reminders, escalations and attention calls to the webhook. */
export function createNotifyActivities(deps: NotifyDeps) {
  return {
    async notifyApprovers(n: NotificationInput): Promise<void> {
      const body = notificationBody(n, deps);
      deps.logger.info({ notification: n.kind, workflowId: n.workflowId, requestId: n.request?.requestId }, 'notification');
      if (!deps.webhookUrl) return;
      const res = await fetch(deps.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status >= 400 && res.status < 500 && res.status !== 429) {
        throw ApplicationFailure.create({ type: 'WebhookRejected', message: `webhook answered ${res.status}`, nonRetryable: true });
      }
      if (!res.ok) throw new Error(`webhook answered ${res.status}`);
    },
  };
}
