import { z } from 'zod';

const TokenHash = z
  .string()
  .regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex digits>; `cordon approver token NAME` makes one');

/** One person who may decide, and the credentials that prove it is them. */
export const ApproverSchema = z
  .object({
    /** The name the policy's approver groups list (usually an e-mail address). */
    name: z.string().trim().min(1).max(200),
    /** SHA-256 hashes of the person's bearer tokens; several let a token be rotated without a gap. */
    tokens: z.array(TokenHash).default([]),
    /** The person's Slack user id (`U…`): a signed Slack button click from it is a decision by them. */
    slack: z
      .string()
      .regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id such as U024BE7LH')
      .optional(),
    /** Decisions per minute this person may send through the API (a leaked token cannot flood a case). */
    perMinute: z.number().int().positive().max(600).default(30),
  })
  .strict();

/** OIDC ID tokens: verified against the issuer's keys; one claim names the approver. */
export const OidcSchema = z
  .object({
    issuer: z.string().min(1),
    audience: z.string().min(1),
    /** The issuer's JSON Web Key Set: a file, or a URL fetched (and cached) by the intake. */
    jwks: z.union([z.object({ file: z.string().min(1) }).strict(), z.object({ url: z.url() }).strict()]),
    /** The claim whose value is the approver's name in the policy (default `email`). */
    claim: z.string().min(1).default('email'),
    /** Accepted clock difference in seconds. */
    clockTolerance: z.number().int().min(0).max(300).default(30),
  })
  .strict();

/** The approvers file (`CORDON_APPROVERS_FILE`). */
export const ApproversFileSchema = z
  .object({
    approvers: z.array(ApproverSchema).default([]),
    oidc: OidcSchema.optional(),
  })
  .strict()
  .superRefine(({ approvers }, ctx) => {
    const seen = new Map<string, string>();
    approvers.forEach((a, i) => {
      if (seen.has(a.name))
        ctx.addIssue({ code: 'custom', path: ['approvers', i, 'name'], message: `duplicate approver ${a.name}` });
      seen.set(a.name, a.name);
      if (a.slack && [...approvers.slice(0, i)].some((b) => b.slack === a.slack))
        ctx.addIssue({
          code: 'custom',
          path: ['approvers', i, 'slack'],
          message: `Slack user ${a.slack} is already mapped`,
        });
    });
  });
export type ApproversFile = z.infer<typeof ApproversFileSchema>;
export type Approver = ApproversFile['approvers'][number];
