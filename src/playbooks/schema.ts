// A playbook test file: a policy and inventory, then tests, each a timeline of what happens to a
// case (alerts, decisions, faults, time passing) with what must be true along the way and at the end.
import { z } from 'zod';
import { FORMAT_NAMES } from '../alerts/formats/types';
import { Duration, StageName } from '../policy/schema';

const Person = z.string().min(1);

/** Which case a step is about (`provider:id`); default: the case of the test's first alert. */
const CaseRef = z.string().regex(/^[^:\s]+:\S+$/, 'must be provider:id, e.g. simulated:svc-deploy-bot');

/** What every step that acts on a case may add. */
const OnCase = { case: CaseRef.optional() };

/**
 * What every human decision may add. `claimed`: sent as an unverified claim through Temporal
 * instead of the authenticated path. `refused`: the case must refuse it (true, or a phrase the
 * refusal contains); a decision refused without it fails the test at that step.
 */
const AsDecision = {
  ...OnCase,
  reason: z.string().optional(),
  claimed: z.literal(true).optional(),
  refused: z.union([z.literal(true), z.string().min(1)]).optional(),
};

/** A provider action (or `snapshot`, `undo:ACTION`, `verify:ACTION`) of the simulated identity system. */
const FaultTarget = z
  .string()
  .regex(
    /^((undo:|verify:)?(restrict|isolate|revoke|rotate)|snapshot)$/,
    'must be restrict, isolate, revoke, rotate or snapshot, optionally undo: or verify: before the action',
  );

const AlertStep = z
  .object({
    /** An alert file (relative to the test file), or the alert itself (any supported format). */
    alert: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
    format: z.enum(FORMAT_NAMES).optional(),
  })
  .strict();

/** What must hold at this point of the timeline; every field given is checked. */
export const Expectation = z
  .object({
    ...OnCase,
    outcome: z
      .enum(['forwarded', 'active', 'contained', 'held', 'aborted', 'rolled-back', 'false-positive', 'needs-attention'])
      .optional(),
    /** What the case waits for: approval, verify-window, kill-switch, resume; `nothing`: it waits for none of them. */
    waitingFor: z.enum(['approval', 'verify-window', 'kill-switch', 'resume', 'nothing']).optional(),
    /** The open approval request, or `none`. */
    pending: z
      .union([
        z.literal('none'),
        z
          .object({
            stage: StageName,
            required: z.number().int().min(1).optional(),
            groups: z.array(z.string()).optional(),
          })
          .strict(),
      ])
      .optional(),
    /** Stages that ran, in order, and the stages that did not (either list is compared exactly). */
    stages: z
      .object({ ran: z.array(StageName).optional(), skipped: z.array(StageName).optional() })
      .strict()
      .optional(),
    /** Every action the identity system applied, in order (`undo:restrict` for an undo). */
    actions: z.array(z.string()).optional(),
    /** The stage of every approval requested, in order. */
    approvals: z.array(StageName).optional(),
    /** Audit events that must be in the case's audit chain... */
    audit: z.array(z.string().min(1)).optional(),
    /** ... and events that must not. */
    notInAudit: z.array(z.string().min(1)).optional(),
    /** The identity as the identity system has it now (fields given are compared). */
    identity: z
      .object({
        status: z.enum(['active', 'disabled', 'revoked']).optional(),
        restricted: z.boolean().optional(),
        credentialVersion: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
    /** A phrase the case's needs-attention reason contains. */
    attention: z.string().min(1).optional(),
    /** The case's workflow has finished (its hold over, its audit sealed). */
    closed: z.boolean().optional(),
  })
  .strict();
export type Expectation = z.infer<typeof Expectation>;

/** One step of a timeline. */
export const Step = z.union([
  AlertStep,
  /** Approves the pending request, which must be for this stage. */
  z.object({ approve: StageName, by: Person, ...AsDecision }).strict(),
  /** Denies the pending request, which must be for this stage. */
  z.object({ deny: StageName, by: Person, ...AsDecision }).strict(),
  z.object({ 'false-positive': Person, ...AsDecision }).strict(),
  z.object({ pause: Person, ...AsDecision }).strict(),
  z.object({ resume: Person, ...AsDecision }).strict(),
  z.object({ 'retry-compensations': Person, ...OnCase }).strict(),
  z.object({ 'kill-switch': z.enum(['engage', 'release']), by: Person, reason: z.string().min(1) }).strict(),
  /** The simulated identity system fails this action: every call, or the next `times` calls (retried). */
  z
    .object({
      fault: FaultTarget,
      times: z
        .number()
        .int()
        .min(1)
        // Retries back off on the server's real clock (1 s, 2 s, 4 s, ...): more would stall the run.
        // A fault without `times` fails every call, which is how to test retries running out.
        .max(3, 'at most 3: retries wait in real time; leave times out to fail every call')
        .optional(),
      ...OnCase,
    })
    .strict(),
  z.object({ 'clear-fault': FaultTarget, ...OnCase }).strict(),
  /** Lets this much time pass on the test server's clock (timers fire, deadlines pass). */
  z.object({ after: Duration }).strict(),
  z.object({ expect: Expectation }).strict(),
]);
export type Step = z.infer<typeof Step>;

/** One test: a timeline, then what must hold at its end. */
export const PlaybookTest = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    steps: z.array(Step).min(1),
    expect: Expectation.optional(),
  })
  .strict();
export type PlaybookTest = z.infer<typeof PlaybookTest>;

/** A playbook test file. Paths are relative to the file; policy and inventory default to the project's. */
export const PlaybookTestFile = z
  .object({
    policy: z.string().min(1).optional(),
    inventory: z.string().min(1).optional(),
    tests: z.array(PlaybookTest).min(1),
  })
  .strict();
export type PlaybookTestFile = z.infer<typeof PlaybookTestFile>;
