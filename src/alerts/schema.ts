import { z } from 'zod';
import {
  ALERT_ID_MAX,
  ALERT_KINDS,
  SEVERITIES,
  type Alert as DomainAlert,
  type IdentityRef as DomainIdentityRef,
} from '../domain/alert';
import type { FieldProblem } from '../domain/inputs';
import { canonicalId, lookAlikeProblem } from '../domain/identityId';

export { ALERT_ID_MAX, ALERT_KINDS, SEVERITIES } from '../domain/alert';
export type { FieldProblem } from '../domain/inputs';

/** What the detector says happened. */
export const AlertKind = z.enum(ALERT_KINDS);
export type AlertKind = z.infer<typeof AlertKind>;

/** Alert severity, lowest first; the order is used to compare severities. */
export const Severity = z.enum(SEVERITIES);
export type Severity = z.infer<typeof Severity>;

/** An identity in one identity system; `provider` names the connector. */
export const IdentityRef = z.object({
  provider: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be a connector name: lowercase letters, digits, dashes'),
  // It becomes part of a workflow id: printable text only, in NFKC form, and nothing that could
  // make it look like another id.
  id: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[^\s\p{Cc}]+$/u, 'must not contain whitespace or control characters')
    .refine(
      (id) => !/[\uD800-\uDFFF]/.test(id.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '')),
      'must be well-formed Unicode text',
    )
    .transform(canonicalId)
    .pipe(
      z.string().superRefine((id, ctx) => {
        const problem = lookAlikeProblem(id);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    ),
});
export type IdentityRef = z.infer<typeof IdentityRef>;

/** Cordon's native alert: every supported format is normalized into this. */
export const AlertSchema = z
  .object({
    // Room for `<source>:` (source names are at most 63 characters).
    id: z
      .string()
      .min(1)
      .max(ALERT_ID_MAX + 64),
    source: z.string().min(1).max(200),
    kind: AlertKind,
    severity: Severity,
    confidence: z.number().min(0).max(1),
    identity: IdentityRef,
    observedAt: z.iso.datetime({ offset: true }).optional(),
    summary: z.string().max(1000).optional(),
    evidence: z.record(z.string(), z.unknown()).optional(),
    /** Dry run: the case runs in full under its own workflow id, but no provider action is performed. */
    shadow: z.boolean().optional(),
  })
  .strict();
export type Alert = z.infer<typeof AlertSchema>;

// Workflows use the zod-free types in src/domain; a field added to one side only fails here.
type MutuallyAssignable<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
true satisfies MutuallyAssignable<IdentityRef, DomainIdentityRef>;
true satisfies MutuallyAssignable<Alert, DomainAlert>;

/** Flattens zod issues into `{ field, message }` pairs with dotted paths. */
export function fieldProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: issue.path.length ? issue.path.join('.') : '(root)',
    message: issue.message,
  }));
}
