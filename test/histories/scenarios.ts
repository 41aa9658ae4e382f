// The scenarios behind the 1.0 golden histories in this folder. `npm run histories:record` plays
// each against a real Temporal server (scripts/record-histories.ts) and writes
// test/histories/<file>.json for every entry of its `record`. Environments pick the rule of
// test/fixtures/policy.yaml; alerts carry no secret values, so none can reach a history.
import type { Scenario } from '../support/scenarioRunner';

const approvalTimeout = (rule: 'hold' | 'proceed' | 'abort' | 'rollback' | 'lapse', outcome: string): Scenario => ({
  name: `approval-timeout-${rule}`,
  server: 'time-skipping',
  identities: { svc: `timeout-${rule}` },
  steps: [
    { alert: 'svc' },
    { until: 'svc', pending: 'isolate' },
    { sleep: '61m' }, // the deadline passes: the escalation group joins
    { sleep: '61m' }, // the escalation deadline passes: the on-timeout rule applies
    ...(rule === 'lapse' ? [{ until: 'svc', outcome: 'active' } as const, { sleep: '5h' } as const] : []), // maxHold (6h) runs out
    { until: 'svc', outcome },
  ],
  record: { [`approval-timeout-${rule}`]: 'svc' },
});

export const SCENARIOS: Scenario[] = [
  {
    // Verified mode: a claim in an approver's name is refused; the decision the intake recorded counts.
    name: 'verified-approval',
    server: 'dev',
    verified: true,
    identities: { svc: 'gated' },
    steps: [
      { alert: 'svc' },
      { until: 'svc', pending: 'isolate' },
      { decide: 'approve', who: 'svc', stage: 'isolate', by: 'alice', via: 'signal' },
      { decide: 'approve', who: 'svc', stage: 'isolate', by: 'bob', via: 'api' },
      { until: 'svc', waitingFor: 'verify-window' },
    ],
    record: { 'verified-approval': 'svc' },
  },
  {
    name: 'auto-containment',
    server: 'dev',
    identities: { svc: 'auto' },
    steps: [{ alert: 'svc' }, { until: 'svc', outcome: 'contained' }],
    record: { 'auto-containment': 'svc' },
  },
  {
    // The whole gated plan to the end of the case hold: the workflow completes.
    name: 'approval',
    server: 'time-skipping',
    identities: { svc: 'gated' },
    steps: [
      { alert: 'svc' },
      { decide: 'approve', who: 'svc', stage: 'isolate', by: 'alice', via: 'signal' },
      { until: 'svc', waitingFor: 'verify-window' },
      { sleep: '11m' },
      { decide: 'approve', who: 'svc', stage: 'revoke', by: 'bob', via: 'update' },
      { until: 'svc', outcome: 'contained' },
      { until: 'svc', closed: true },
    ],
    record: { approval: 'svc' },
  },
  {
    // Two distinct approvers; a repeated approver is refused and audited.
    name: 'm-of-n',
    server: 'dev',
    identities: { svc: 'two-of-n' },
    steps: [
      { alert: 'svc' },
      { decide: 'approve', who: 'svc', stage: 'restrict', by: 'alice', via: 'signal' },
      { decide: 'approve', who: 'svc', stage: 'restrict', by: 'alice', via: 'signal' },
      { decide: 'approve', who: 'svc', stage: 'restrict', by: 'bob', via: 'update' },
      { until: 'svc', outcome: 'contained' },
    ],
    record: { 'm-of-n': 'svc' },
  },
  {
    name: 'denial',
    server: 'dev',
    identities: { svc: 'gated' },
    steps: [
      { alert: 'svc' },
      { decide: 'deny', who: 'svc', stage: 'isolate', by: 'bob', via: 'update' },
      { until: 'svc', outcome: 'rolled-back' },
    ],
    record: { denial: 'svc' },
  },
  approvalTimeout('hold', 'held'),
  approvalTimeout('proceed', 'contained'),
  approvalTimeout('abort', 'aborted'),
  approvalTimeout('rollback', 'rolled-back'),
  approvalTimeout('lapse', 'rolled-back'),
  {
    name: 'false-positive',
    server: 'dev',
    identities: { svc: 'gated' },
    steps: [
      { alert: 'svc' },
      { decide: 'approve', who: 'svc', stage: 'isolate', by: 'bob', via: 'signal' },
      { until: 'svc', waitingFor: 'verify-window' },
      { falsePositive: 'svc', by: 'alice', reason: 'scheduled key rotation job' },
      { until: 'svc', closed: true },
    ],
    record: { 'false-positive': 'svc' },
  },
  {
    // An undo that keeps failing leaves needs-attention; a retry after the fault clears finishes.
    name: 'compensation-failure',
    server: 'dev',
    identities: { svc: 'gated' },
    steps: [
      { fault: 'svc', action: 'undo:restrict' },
      { alert: 'svc' },
      { until: 'svc', pending: 'isolate' },
      { falsePositive: 'svc', by: 'alice' },
      { until: 'svc', outcome: 'needs-attention' },
      { clearFault: 'svc', action: 'undo:restrict' },
      { retryCompensations: 'svc', by: 'oncall' },
      { until: 'svc', closed: true },
    ],
    record: { 'compensation-failure': 'svc' },
  },
  {
    // A budget of 1 destructive action per hour. The approved isolate spends it; the kill
    // switch holds that isolate until released; the automatic run's revoke is then over budget.
    name: 'kill-switch-and-budget',
    server: 'dev',
    budget: 1,
    identities: { blocked: 'gated', overBudget: 'auto' },
    steps: [
      { alert: 'blocked' },
      { until: 'blocked', pending: 'isolate' },
      { killSwitch: 'engage', by: 'ciso-1', reason: 'automation misbehaving' },
      { decide: 'approve', who: 'blocked', stage: 'isolate', by: 'alice', via: 'update' },
      { until: 'blocked', waitingFor: 'kill-switch' },
      { killSwitch: 'release', by: 'ciso-1', reason: 'fixed' },
      { until: 'blocked', waitingFor: 'verify-window' },
      { alert: 'overBudget' },
      { decide: 'approve', who: 'overBudget', stage: 'revoke', by: 'bob', via: 'update' },
      { decide: 'approve', who: 'overBudget', stage: 'rotate', by: 'bob', via: 'update' },
      { until: 'overBudget', outcome: 'contained' },
    ],
    record: { 'kill-switch': 'blocked', 'over-budget': 'overBudget' },
  },
  {
    // Paused while its approved isolate waits; the kill switch is engaged during the pause.
    // After the resume the action finds the switch engaged and waits for the release.
    name: 'pause',
    server: 'dev',
    identities: { held: 'gated' },
    steps: [
      { alert: 'held' },
      { until: 'held', pending: 'isolate' },
      { pause: 'held', by: 'bob' },
      { decide: 'approve', who: 'held', stage: 'isolate', by: 'alice', via: 'update' },
      { until: 'held', waitingFor: 'resume' },
      { killSwitch: 'engage', by: 'ciso-1', reason: 'automation misbehaving' },
      { resume: 'held', by: 'bob' },
      { until: 'held', waitingFor: 'kill-switch' },
      { killSwitch: 'release', by: 'ciso-1', reason: 'fixed' },
      { until: 'held', waitingFor: 'verify-window' },
    ],
    record: { pause: 'held' },
  },
  {
    // A held case whose history outgrows its limit continues as new, carrying its state.
    name: 'continue-as-new',
    server: 'dev',
    identities: { svc: 'escalate' },
    steps: [
      { start: 'svc', maxHistoryEvents: 60 },
      { alert: 'svc' },
      { until: 'svc', outcome: 'contained' },
      ...Array.from({ length: 12 }, () => ({ alert: 'svc', confidence: 0.2 }) as const),
      { until: 'svc', continued: true },
      { falsePositive: 'svc', by: 'alice', reason: 'red team exercise' },
      { until: 'svc', closed: true },
    ],
    record: { 'continue-as-new': 'svc@first', 'continued-run': 'svc' },
  },
  {
    // A case waiting for approval whose history outgrows its limit continues as new with the
    // same request open; the approval given to the new run lets the action run.
    name: 'approval-continued',
    server: 'dev',
    identities: { svc: 'gated' },
    steps: [
      { start: 'svc', maxHistoryEvents: 60 },
      { alert: 'svc' },
      { until: 'svc', pending: 'isolate' },
      ...Array.from({ length: 12 }, () => ({ alert: 'svc', confidence: 0.2 }) as const),
      { until: 'svc', continued: true },
      { decide: 'approve', who: 'svc', stage: 'isolate', by: 'alice', via: 'signal' },
      { until: 'svc', waitingFor: 'verify-window' },
    ],
    record: { 'approval-continued': 'svc@first', 'approval-resumed': 'svc' },
  },
  {
    // Denied and rolled back, then a stronger alert: a new round under the policy.
    name: 'new-round',
    server: 'dev',
    identities: { svc: 'gated' },
    steps: [
      { alert: 'svc', confidence: 0.6, severity: 'high' },
      { decide: 'deny', who: 'svc', stage: 'isolate', by: 'bob', via: 'update' },
      { until: 'svc', outcome: 'rolled-back' },
      { alert: 'svc', confidence: 0.95, severity: 'critical' },
      { until: 'svc', pending: 'isolate' },
    ],
    record: { 'new-round': 'svc' },
  },
  {
    name: 'shadow',
    server: 'dev',
    identities: { svc: 'auto' },
    steps: [
      { alert: 'svc', shadow: true },
      { until: 'svc', outcome: 'contained', shadow: true },
    ],
    record: { shadow: 'svc@shadow' },
  },
];
