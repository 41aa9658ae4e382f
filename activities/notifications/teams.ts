// An approval request as a Microsoft Teams Adaptive Card, posted to an incoming webhook. Teams
// cannot call Cordon back with a verified person, so the card links to the case and shows the
// authenticated command to run instead of offering buttons.
import type { Notice } from '../../src/domain/case';
import { decisionCommands } from '../../src/domain/caseBrief';

const text = (value: string, extra: object = {}) => ({ type: 'TextBlock', text: value, wrap: true, ...extra });
// Text someone outside Cordon chose (a refused claim's name) loses Markdown's link and emphasis characters.
const plain = (value: string) => value.replace(/[[\]()<>*_`~#|\\]/g, ' ');

/** The webhook payload: one message carrying one Adaptive Card (schema 1.4). */
export function teamsMessage(n: Notice, link: string) {
  const b = n.brief;
  const r = n.request;
  const facts = [
    { title: 'Identity', value: `${n.identity.provider}:${n.identity.id}` },
    { title: 'State', value: b?.headline ?? `${n.outcome} · ${n.stage}` },
    ...(b
      ? [
          { title: 'Rule', value: b.rule ?? 'not planned yet' },
          {
            title: 'Alerts',
            value: `${b.alerts.count} · worst ${b.alerts.worstSeverity ?? 'n/a'} · ${b.alerts.kinds.join(', ')}`,
          },
          { title: 'Owner', value: b.blastRadius.owner ?? 'unknown' },
          { title: 'Consumers', value: b.blastRadius.consumers.join(', ') || 'none' },
        ]
      : []),
    ...(r
      ? [
          { title: 'Request', value: `${r.requestId} (${r.action} at ${r.stage})` },
          { title: 'Action digest', value: r.actionDigest },
          { title: 'Approvals', value: `${r.approvals.length} of ${r.required} from ${r.groups.join(', ')}` },
          { title: 'Deadline', value: r.deadline },
        ]
      : []),
  ];
  const body = [
    text(`${n.shadow ? '[shadow] ' : ''}Cordon: ${n.kind.replace(/-/g, ' ')}`, { weight: 'Bolder', size: 'Medium' }),
    ...(n.reason ? [text(plain(n.reason))] : []),
    { type: 'FactSet', facts },
    ...(b?.reasons.length ? [text(b.reasons.map((reason) => `- ${reason}`).join('\n'))] : []),
    ...(r
      ? [
          text('Decide with your approver token:'),
          text(decisionCommands(n.workflowId, r).cordon, { fontType: 'Monospace' }),
        ]
      : []),
  ];
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          actions: [{ type: 'Action.OpenUrl', title: 'Open the case', url: link }],
        },
      },
    ],
  };
}
