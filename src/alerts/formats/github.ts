import { z } from 'zod';
import { defineFormat, sourceName } from './types';

// GitHub `secret_scanning_alert` webhook. The payload carries no secret value and no severity
// or confidence; both are derived from `validity` and `publicly_leaked` below.

const Payload = z.looseObject({
  action: z.string().min(1).max(64),
  alert: z.looseObject({
    number: z.number().int().positive(),
    secret_type: z.string().min(1).max(200),
    secret_type_display_name: z.string().max(200).optional(),
    validity: z.enum(['active', 'inactive', 'unknown']).optional(),
    publicly_leaked: z.boolean().nullable().optional(),
    push_protection_bypassed: z.boolean().nullable().optional(),
    html_url: z.url().max(2000),
    created_at: z.iso.datetime({ offset: true }),
  }),
  repository: z.looseObject({ full_name: z.string().regex(/^[\w.-]{1,39}\/[\w.-]{1,100}$/, 'must be owner/name') }),
  sender: z.looseObject({ login: z.string().max(100) }).optional(),
});

/** Actions that mean a secret is (still) exposed; resolved, assigned and the like open nothing. */
export const CONTAINING_ACTIONS = new Set(['created', 'reopened', 'publicly_leaked', 'validated']);
/** Confidence by the validity GitHub checked against the issuer; unknown when absent. */
export const GITHUB_CONFIDENCE = { active: 0.95, unknown: 0.8, inactive: 0.4 };

export const github = defineFormat({
  name: 'github',
  parse: (payload) => Payload.safeParse(payload),
  detect: (payload, headers) =>
    headers['x-github-event'] !== undefined || (typeof payload.alert === 'object' && 'repository' in payload),
  screen(headers) {
    const event = headers['x-github-event'];
    if (event === 'ping') return { kind: 'ignored', reason: 'ping' };
    if (event !== undefined && event !== 'secret_scanning_alert') {
      const named = typeof event === 'string' ? JSON.stringify(event.slice(0, 64)) : 'given twice';
      return {
        kind: 'unusable',
        problems: [
          {
            field: 'X-GitHub-Event',
            message: `event ${named} is not supported; subscribe the webhook to secret_scanning_alert only`,
          },
        ],
      };
    }
    return undefined;
  },
  adapt({ action, alert, repository, sender }, context) {
    if (!CONTAINING_ACTIONS.has(action)) return { kind: 'ignored', reason: `action ${action} opens no containment` };
    const validity = alert.validity ?? 'unknown';
    const exposed = alert.publicly_leaked === true || validity === 'active';
    const location = `${repository.full_name}/secret-scanning/${alert.number}`;
    return {
      kind: 'alert',
      alert: {
        id: `github:${location}:${action}`,
        source: sourceName(context, 'github'),
        kind: 'secret_leak',
        severity: exposed ? 'critical' : 'high',
        confidence: GITHUB_CONFIDENCE[validity],
        // Until a lookup maps the leaked value to its owner, the alert itself is the identity.
        identity: { provider: context.provider ?? 'github', id: location },
        observedAt: alert.created_at,
        summary: `${alert.secret_type_display_name ?? alert.secret_type} exposed in ${repository.full_name}`,
        evidence: {
          format: 'github',
          rawDigest: context.rawDigest,
          action,
          type: alert.secret_type,
          validity,
          publiclyLeaked: alert.publicly_leaked ?? false,
          pushProtectionBypassed: alert.push_protection_bypassed ?? false,
          repository: repository.full_name,
          url: alert.html_url,
          sender: sender?.login,
        },
      },
    };
  },
});
