import { z } from 'zod';
import { AlertKind, Severity } from '../alerts/schema';
import { IdentityClass } from '../inventory/schema';
import { IRREVERSIBLE_STAGES, STAGE_ORDER } from './stages';

export { IRREVERSIBLE_STAGES, STAGE_ORDER } from './stages';

/** Containment stages, smallest blast radius first; plans always run in this order. */
export const StageName = z.enum(STAGE_ORDER);
export type StageName = z.infer<typeof StageName>;

/** A duration such as `90s`, `15m`, `4h` or `2d`. */
export const Duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'must be a duration like 30s, 15m, 4h or 2d');

/** What happens when an approval deadline passes with no decision and no escalation left. */
export const OnTimeout = z.enum(['hold', 'proceed', 'abort', 'rollback', 'lapse']);
export type OnTimeout = z.infer<typeof OnTimeout>;

/** Who approves a gated stage, and how the wait is bounded. */
export const ApprovalSettings = z
  .object({
    groups: z.array(z.string().min(1)).min(1),
    required: z.number().int().min(1),
    selfApproval: z.boolean(),
    deadline: Duration,
    reminderEvery: Duration,
    /** Groups added, one per passed deadline, before `onTimeout` applies. */
    escalation: z.array(z.string().min(1)),
    onTimeout: OnTimeout,
    /** With `lapse`: how long reversible containment is held before it is rolled back. */
    maxHold: Duration,
  })
  .strict();
export type ApprovalSettings = z.infer<typeof ApprovalSettings>;

/** Conditions on the alert and the identity; every given field must hold. */
export const Match = z
  .object({
    kinds: z.array(AlertKind).min(1).optional(),
    /** The identity system the alert names (`identity.provider`): a rule for what one connector can do. */
    providers: z.array(z.string().min(1)).min(1).optional(),
    minSeverity: Severity.optional(),
    minConfidence: z.number().min(0).max(1).optional(),
    confidenceBelow: z.number().min(0).max(1).optional(),
    known: z.boolean().optional(),
    classes: z.array(IdentityClass).min(1).optional(),
    shared: z.boolean().optional(),
    environments: z.array(z.string()).min(1).optional(),
    criticality: z.array(Severity).min(1).optional(),
    owners: z.array(z.string().min(1)).min(1).optional(),
    /** Blast radius: at least this many consumers depend on the identity. */
    minConsumers: z.number().int().min(1).optional(),
  })
  .strict();
export type Match = z.infer<typeof Match>;

/** One stage of a rule's plan. */
export const StageRule = z
  .object({
    stage: StageName,
    approval: z.enum(['auto', 'required']).default('auto'),
    /** Overrides of the policy's approval defaults for this stage. */
    approvers: ApprovalSettings.partial().optional(),
    /** verify-window only: how long to watch before the next stage. */
    window: Duration.optional(),
    /** On a `deny` decision: undo everything (rollback) or keep what was done (hold). */
    onDeny: z.enum(['rollback', 'hold']).default('rollback'),
    /** When the action still fails after its retries. */
    onFailure: z.enum(['rollback', 'hold']).default('hold'),
  })
  .strict();
export type StageRule = z.infer<typeof StageRule>;

/** Alert + identity conditions mapped to the stages to run; the first matching rule wins. */
export const Rule = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    when: Match.default({}),
    stages: z.array(StageRule).min(1),
  })
  .strict();
export type Rule = z.infer<typeof Rule>;

/** Forces approval for some stages whenever `when` holds, whatever rule matched. */
export const Guard = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    when: Match,
    requireApproval: z.array(StageName).min(1),
  })
  .strict();
export type Guard = z.infer<typeof Guard>;

/** One approver group's people. */
export const ApproverGroup = z.array(z.string().min(1)).min(1);

const Groups = z.array(z.string().min(1)).min(1);

/**
 * Who may make the decisions that are not approvals, and whether a decision's named person is
 * believed. `verified`: only decisions through an authenticated path (the decision API, a signed
 * chat callback) count; a raw signal's name is audited as an unverified claim. `claimed`: a
 * decision counts for the person it names, as long as they are in the right groups.
 */
export const DecisionSettings = z
  .object({
    mode: z.enum(['claimed', 'verified']).default('claimed'),
    /** May declare a false positive (which undoes containment); default: `approvalDefaults.groups`. */
    falsePositive: Groups.optional(),
    /** May pause and resume a case; default: `approvalDefaults.groups`. */
    pause: Groups.optional(),
    killSwitch: z
      .object({
        /** May engage the switch; default: every approver group (stopping is cheap to ask for). */
        engage: Groups.optional(),
        /** May release it; default: `approvalDefaults.groups`. */
        release: Groups.optional(),
      })
      .strict()
      .default({}),
  })
  .strict();
export type DecisionSettings = z.infer<typeof DecisionSettings>;

/** A problem between fields, at its path from the policy root. */
export interface PolicyIssue {
  path: (string | number)[];
  message: string;
}

/**
 * What the cross-field checks read. Lint passes only the parts that passed their own schema: a
 * missing part (or rule) skips the checks that need it.
 */
export interface PolicyRefs {
  /** A group whose entry is malformed is known by name but has no countable people (undefined). */
  approverGroups?: Readonly<Record<string, readonly string[] | undefined>>;
  approvalDefaults?: ApprovalSettings;
  decisions?: DecisionSettings;
  /** At their positions in the file. */
  rules: readonly (Rule | undefined)[];
}

const stageOrderIssues = (rules: Rule[]): PolicyIssue[] =>
  rules.flatMap((rule, r) =>
    rule.stages.flatMap((stage, s) =>
      s > 0 && STAGE_ORDER.indexOf(stage.stage) <= STAGE_ORDER.indexOf(rule.stages[s - 1].stage)
        ? [
            {
              path: ['rules', r, 'stages', s, 'stage'],
              message: 'stages must be unique and in order observe, restrict, isolate, verify-window, revoke, rotate',
            },
          ]
        : [],
    ),
  );

/** Approver groups that do not exist, and irreversible stages set to proceed on timeout. */
export function referenceIssues(policy: PolicyRefs): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const groups = policy.approverGroups && new Set(Object.keys(policy.approverGroups));
  const checkGroups = (names: string[] | undefined, path: (string | number)[]) =>
    names?.forEach((name, i) => {
      if (groups && !groups.has(name)) issues.push({ path: [...path, i], message: `unknown approver group "${name}"` });
    });
  const { approvalDefaults: defaults, decisions } = policy;
  checkGroups(defaults?.groups, ['approvalDefaults', 'groups']);
  checkGroups(defaults?.escalation, ['approvalDefaults', 'escalation']);
  checkGroups(decisions?.falsePositive, ['decisions', 'falsePositive']);
  checkGroups(decisions?.pause, ['decisions', 'pause']);
  checkGroups(decisions?.killSwitch.engage, ['decisions', 'killSwitch', 'engage']);
  checkGroups(decisions?.killSwitch.release, ['decisions', 'killSwitch', 'release']);
  policy.rules.forEach((rule, r) =>
    rule?.stages.forEach((stage, s) => {
      const path = ['rules', r, 'stages', s];
      checkGroups(stage.approvers?.groups, [...path, 'approvers', 'groups']);
      checkGroups(stage.approvers?.escalation, [...path, 'approvers', 'escalation']);
      const onTimeout = stage.approvers?.onTimeout ?? defaults?.onTimeout;
      if (IRREVERSIBLE_STAGES.includes(stage.stage) && stage.approval === 'required' && onTimeout === 'proceed')
        issues.push({
          path: [...path, 'approvers', 'onTimeout'],
          message: 'an irreversible stage cannot proceed on timeout',
        });
    }),
  );
  return issues;
}

/** The policy file. */
export const PolicySchema = z
  .object({
    version: z.string().min(1),
    /** Dry run for every case: alerts are forwarded to shadow cases, which perform no provider action. */
    shadow: z.boolean().optional(),
    approverGroups: z.record(z.string(), ApproverGroup),
    approvalDefaults: ApprovalSettings,
    verifyWindow: Duration.default('15m'),
    /** How long a finished containment stays open for late evidence or a false positive. */
    caseHold: Duration.default('24h'),
    rules: z.array(Rule).min(1),
    guards: z.array(Guard).default([]),
    decisions: DecisionSettings.default({ mode: 'claimed', killSwitch: {} }),
    /**
     * What one case takes in; an alert beyond either is shed (counted and audited). No default
     * here, so policies without it keep their digest: workflows/alertLimits.ts holds the defaults.
     */
    caseLimits: z
      .object({
        /** Alert deliveries a case takes in any minute. */
        alertsPerMinute: z.number().int().min(1).max(10_000).optional(),
        /** Bytes of alert records a case keeps (it carries them into every continued run). */
        alertBytes: z
          .number()
          .int()
          .min(16 * 1024)
          .max(512 * 1024)
          .optional(),
      })
      .strict()
      .optional(),
    governor: z
      .object({
        budget: z.object({
          limit: z.number().int().min(0),
          window: Duration,
          stages: z.array(StageName).min(1),
        }),
      })
      .strict(),
  })
  .strict()
  .superRefine((policy, ctx) => {
    for (const issue of [...stageOrderIssues(policy.rules), ...referenceIssues(policy)])
      ctx.addIssue({ code: 'custom', ...issue });
  });
/** A validated policy. */
export type Policy = z.infer<typeof PolicySchema>;
