// An approval request as a Slack message (Block Kit): the brief, and Approve / Deny buttons whose
// clicks come back signed to `POST /v1/slack/actions`. Limits: header 150 chars, section text
// 3,000, button value 2,000.
import type { Notice } from '../../src/domain/case';
import type { SlackButtonValue } from '../../src/intake/slackRoutes';

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
// Slack's own escapes: a name someone chose cannot become a link or a mention.
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const mrkdwn = (text: string, max = 3000) => ({ type: 'mrkdwn', text: cut(text, max) });
// A section field holds at most 2,000 characters.
const field = (title: string, value: string) => mrkdwn(`*${title}*\n${escape(value)}`, 2000);

const TITLES: Record<Notice['kind'], string> = {
  'case-opened': 'Case opened',
  'approval-requested': 'Approval requested',
  'approval-reminder': 'Reminder: approval still waiting',
  'approval-escalated': 'Approval escalated',
  'needs-attention': 'Needs attention',
  'kill-switch-engaged': 'Held by the kill switch',
  'decision-refused': 'Decision refused',
};

/** The message an incoming webhook (or `chat.postMessage`) posts. */
export function slackMessage(n: Notice, link: string) {
  const b = n.brief;
  const title = `${n.shadow ? '[shadow] ' : ''}${TITLES[n.kind]}: ${n.identity.provider}:${n.identity.id}`;
  const blocks: object[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(title, 150) } },
    {
      type: 'section',
      text: mrkdwn(`*${escape(b?.headline ?? `${n.outcome} · ${n.stage}`)}*${n.reason ? `\n${escape(n.reason)}` : ''}`),
    },
  ];
  if (b) {
    const radius = b.blastRadius;
    blocks.push({
      type: 'section',
      fields: [
        field('Rule', b.rule ?? 'not planned yet'),
        field('Alerts', `${b.alerts.count} · worst ${b.alerts.worstSeverity ?? 'n/a'} · ${b.alerts.kinds.join(', ')}`),
        field('Owner', radius.owner ?? 'unknown'),
        field('Consumers', `${radius.consumers.join(', ') || 'none'}${radius.shared ? ' (shared)' : ''}`),
      ],
    });
    if (b.reasons.length)
      blocks.push({ type: 'section', text: mrkdwn(escape(b.reasons.map((r) => `• ${r}`).join('\n'))) });
  }
  const r = n.request;
  if (r) {
    blocks.push({
      type: 'section',
      text: mrkdwn(
        escape(
          `*${r.action}* at ${r.stage} · request \`${r.requestId}\` · ${r.approvals.length}/${r.required} approvals from ${r.groups.join(', ')} · deadline ${r.deadline}\naction digest \`${r.actionDigest}\``,
        ),
      ),
    });
    const value: SlackButtonValue = { workflowId: n.workflowId, requestId: r.requestId, actionDigest: r.actionDigest };
    const button = (text: string, actionId: string, style: string) => ({
      type: 'button',
      text: { type: 'plain_text', text },
      action_id: actionId,
      style,
      value: JSON.stringify(value),
    });
    blocks.push({
      type: 'actions',
      elements: [button('Approve', 'cordon_approve', 'primary'), button('Deny', 'cordon_deny', 'danger')],
    });
  }
  blocks.push({ type: 'context', elements: [mrkdwn(`<${link}|Open the case in Temporal>`)] });
  return { text: cut(title, 3000), blocks };
}
