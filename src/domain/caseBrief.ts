// What an approver needs to see about a case, in one place: the Web UI's current details, and the
// context every notification carries (webhook, Slack, Teams). Pure and zod-free: the workflow
// builds it; activities render it for their channel.
import type { ApprovalRequest } from './case';

/** The case at a glance, and what it waits for. */
export interface CaseBrief {
  /** One line: the state at a glance ("active · isolate waits 0/1 approvals"). */
  headline: string;
  workflowId: string;
  identity: string;
  stage: string;
  outcome: string;
  waitingFor?: string;
  /** Why the case acts: the policy rule and its reasons. */
  rule?: string;
  reasons: string[];
  alerts: { count: number; worstSeverity?: string; kinds: string[]; sources: string[]; topConfidence?: number };
  /** Who and what is hit if the identity is cut off (from the worker's inventory). */
  blastRadius: {
    known: boolean;
    owner?: string;
    consumers: string[];
    shared?: boolean;
    environment?: string;
    criticality?: string;
    class?: string;
  };
  request?: ApprovalRequest & { onTimeout: string; reversible: boolean };
  attention?: string;
  /** When a finished case stops holding for late evidence. */
  holdUntil?: string;
}

const ON_TIMEOUT: Record<string, string> = {
  hold: 'hold: keep what is contained, do not run this step, call a human',
  proceed: 'proceed: the step runs without approval',
  abort: 'abort: stop the plan, keep what is contained',
  rollback: 'rollback: undo every reversible step',
  lapse: 'lapse: hold, then undo every reversible step after the maximum hold',
};

/** The first line of the details: state, then what the case waits for. */
export function headlineOf(brief: Omit<CaseBrief, 'headline'>): string {
  const r = brief.request;
  const outcome = brief.outcome === 'needs-attention' ? 'needs attention' : brief.outcome;
  if (r) return `${outcome} · ${r.action} waits ${r.approvals.length}/${r.required} approvals (${r.groups.join(', ')})`;
  if (brief.attention) return `${outcome} · ${brief.attention}`.slice(0, 200);
  const waits: Record<string, string> = {
    'kill-switch': 'held by the kill switch',
    resume: 'paused: waits for resume',
    'verify-window': 'watching the verification window',
  };
  if (brief.waitingFor && waits[brief.waitingFor]) return `${outcome} · ${waits[brief.waitingFor]}`;
  if (brief.holdUntil && brief.outcome !== 'active')
    return `${outcome} · work done; open for late evidence until ${brief.holdUntil}`;
  return `${outcome} · ${brief.stage}`;
}

const q = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

/** The exact commands that decide `request`: authenticated (cordon, curl) and the raw Update. */
export function decisionCommands(workflowId: string, request: Pick<ApprovalRequest, 'requestId' | 'actionDigest'>) {
  const body = {
    requestId: request.requestId,
    actionDigest: request.actionDigest,
    decision: 'approve',
    reason: '<why>',
  };
  return {
    cordon: `cordon approve ${q(workflowId)} --request ${request.requestId} --digest ${request.actionDigest} --reason '<why>'   # with CORDON_APPROVER_TOKEN set`,
    api: `curl -X POST "$CORDON_INTAKE_URL/v1/cases/${encodeURIComponent(workflowId)}/decisions" -H "authorization: Bearer $CORDON_APPROVER_TOKEN" -H 'content-type: application/json' -d ${q(JSON.stringify(body))}`,
    temporal: `temporal workflow update execute --workflow-id ${q(workflowId)} --name decide --input ${q(JSON.stringify({ ...body, approver: '<you>' }))}   # a claim: counts only in claimed mode`,
  };
}

const list = (items: string[], none = 'none') => (items.length ? items.join(', ') : none);

/** The brief as Markdown for the Web UI's case page (no images or HTML; well under 20 KB). */
export function briefMarkdown(brief: CaseBrief): string {
  const lines = [`**${brief.headline}**`, ''];
  const r = brief.request;
  if (r) {
    const approvals = r.approvals.map((a) => `${a.approver}${a.verified ? ' (verified)' : ' (claimed)'}`);
    const commands = decisionCommands(brief.workflowId, r);
    lines.push(
      `### Waiting: approval of ${r.action}`,
      '',
      '| | |',
      '|---|---|',
      `| request | \`${r.requestId}\` |`,
      `| action | ${r.action} at ${r.stage}${r.reversible ? ' (reversible)' : ' (irreversible)'} |`,
      `| action digest | \`${r.actionDigest}\` |`,
      `| approver groups | ${r.groups.join(', ')} |`,
      `| approvals | ${r.approvals.length} of ${r.required}: ${list(approvals)} |`,
      `| deadline | ${r.deadline} |`,
      `| on timeout | ${ON_TIMEOUT[r.onTimeout] ?? r.onTimeout} |`,
      '',
      '### Decide',
      '',
      '```',
      commands.cordon,
      commands.api,
      commands.temporal,
      '```',
      '',
    );
  }
  if (brief.attention) lines.push(`### Needs attention`, '', brief.attention.slice(0, 2000), '');
  const { alerts, blastRadius: b } = brief;
  lines.push(
    '### Why',
    '',
    `- rule: ${brief.rule ?? 'not planned yet'}`,
    ...brief.reasons.slice(0, 20).map((reason) => `  - ${reason}`),
    `- alerts: ${alerts.count} (worst ${alerts.worstSeverity ?? 'n/a'}, confidence up to ${alerts.topConfidence ?? 'n/a'}): ${list(alerts.kinds)} from ${list(alerts.sources)}`,
    `- identity: \`${brief.identity}\` · ${b.known ? `${b.class ?? ''} in ${b.environment ?? '?'}, criticality ${b.criticality ?? '?'}` : 'not in the inventory'}`,
    `- blast radius: owner ${b.owner ?? 'unknown'}; consumers ${list(b.consumers.slice(0, 20))}; ${b.shared ? 'shared credential' : 'not shared'}`,
    '',
    `Stage \`${brief.stage}\`, outcome \`${brief.outcome}\`${brief.holdUntil ? `, open for late evidence until ${brief.holdUntil}` : ''}.`,
  );
  return lines.join('\n');
}
