// The generic webhook: the notice as JSON, with the case's brief, a link and the commands.
import type { Notice } from '../../src/domain/case';
import { decisionCommands } from '../../src/domain/caseBrief';

/** The JSON body approvers' tooling receives: the facts, the brief, ready-to-run commands and a link. */
export function webhookBody(n: Notice, link: string) {
  return { ...n, link, ...(n.request && { commands: decisionCommands(n.workflowId, n.request) }) };
}
