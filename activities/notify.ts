import { ApplicationFailure } from '@temporalio/activity';
import type { Notice } from '../src/domain/case';
import type { Logger } from '../src/log';

/** Where notifications go and how links are built. */
export interface NotifyDeps {
  webhookUrl?: string;
  uiUrl: string;
  namespace: string;
  logger: Logger;
}

/** The JSON body approvers' tooling receives: the facts plus ready-to-run commands and a link. */
export function notificationBody(n: Notice, deps: Pick<NotifyDeps, 'uiUrl' | 'namespace'>) {
  const link = `${deps.uiUrl}/namespaces/${encodeURIComponent(deps.namespace)}/workflows/${encodeURIComponent(n.workflowId)}/${n.runId}/history`;
  const commands = n.request && {
    approve: `temporal workflow signal --workflow-id '${n.workflowId}' --name approve --input '${JSON.stringify({ requestId: n.request.requestId, approver: '<you>', reason: '<why>' })}'`,
    deny: `temporal workflow signal --workflow-id '${n.workflowId}' --name deny --input '${JSON.stringify({ requestId: n.request.requestId, approver: '<you>', reason: '<why>' })}'`,
    cordon: `cordon approve '${n.workflowId}' --request ${n.request.requestId} --as <you> --reason '<why>'`,
  };
  return { ...n, link, commands };
}

/** Sends one approval request, reminder, escalation or attention call to the webhook, within `timeoutMs`. */
export function noticeSender(deps: NotifyDeps) {
  return async function sendNotice(n: Notice, timeoutMs: number): Promise<void> {
    const body = notificationBody(n, deps);
    deps.logger.info(
      { notification: n.kind, workflowId: n.workflowId, requestId: n.request?.requestId },
      'notification',
    );
    if (!deps.webhookUrl) return;
    const res = await fetch(deps.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status >= 400 && res.status < 500 && res.status !== 429) {
      throw ApplicationFailure.create({
        type: 'WebhookRejected',
        message: `webhook answered ${res.status}`,
        nonRetryable: true,
      });
    }
    if (!res.ok) throw new Error(`webhook answered ${res.status}`);
  };
}
