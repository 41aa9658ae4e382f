// The scenarios behind the golden histories in this folder. `npm run histories:record` plays
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
  record: {
    [`approval-timeout-${rule}`]: 'svc',
    // Proceeding reaches a destructive action: the same run once the budget is claimed in the database.
    ...(rule === 'proceed' && { [`approval-timeout-${rule}-budget-in-store`]: 'svc' }),
  },
});

export const SCENARIOS: Scenario[] = [
  {
    name: 'auto-containment',
    server: 'dev',
    identities: { svc: 'auto' },
    steps: [{ alert: 'svc' }, { until: 'svc', outcome: 'contained' }],
    record: {
      'auto-containment': 'svc',
      // The same run once actions outside the budget read the kill switch by query (patch kill-switch-read-by-query).
      'auto-containment-switch-by-query': 'svc',
      // The same run once the budget is claimed in the database (patch budget-claimed-in-store).
      'auto-containment-budget-in-store': 'svc',
      // The same run once a new case reads the switch and the identity with its context, and a
      // claim's activity reads the switch too (patches opening-reads-together, switch-read-with-claim).
      'auto-containment-opening-reads': 'svc',
    },
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
    record: {
      approval: 'svc',
      // The same run once actions outside the budget read the kill switch by query (patch kill-switch-read-by-query).
      'approval-switch-by-query': 'svc',
      // The same run once the budget is claimed in the database (patch budget-claimed-in-store).
      'approval-budget-in-store': 'svc',
      // The same run once a new case reads the switch and the identity with its context, and a
      // claim's activity reads the switch too (patches opening-reads-together, switch-read-with-claim).
      'approval-opening-reads': 'svc',
    },
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
    record: {
      'false-positive': 'svc',
      // The same run once actions outside the budget read the kill switch by query (patch kill-switch-read-by-query).
      'false-positive-switch-by-query': 'svc',
      // The same run once the budget is claimed in the database (patch budget-claimed-in-store).
      'false-positive-budget-in-store': 'svc',
      // The same run once a new case reads the switch and the identity with its context, and a
      // claim's activity reads the switch too (patches opening-reads-together, switch-read-with-claim).
      'false-positive-opening-reads': 'svc',
    },
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
    name: 'governor',
    server: 'dev',
    budget: 1,
    identities: { blocked: 'gated', overBudget: 'auto' },
    steps: [
      { alert: 'blocked' },
      { until: 'blocked', pending: 'isolate' },
      { killSwitch: 'engage', by: 'ciso-1', reason: 'automation misbehaving' },
      { decide: 'approve', who: 'blocked', stage: 'isolate', by: 'alice', via: 'update' },
      { until: 'blocked', waitingFor: 'governor' },
      { killSwitch: 'release', by: 'ciso-1', reason: 'fixed' },
      { until: 'blocked', waitingFor: 'verify-window' },
      { alert: 'overBudget' },
      { decide: 'approve', who: 'overBudget', stage: 'revoke', by: 'bob', via: 'update' },
      { decide: 'approve', who: 'overBudget', stage: 'rotate', by: 'bob', via: 'update' },
      { until: 'overBudget', outcome: 'contained' },
    ],
    record: {
      'governor-kill-switch': 'blocked',
      // The same run once actions outside the budget read the kill switch by query (patch kill-switch-read-by-query).
      'governor-kill-switch-by-query': 'blocked',
      // The same run once the budget is claimed in the database (patch budget-claimed-in-store).
      'governor-kill-switch-budget-in-store': 'blocked',
      // The same run once a claim's activity reads the switch too (patch switch-read-with-claim).
      'governor-kill-switch-claim-reads-switch': 'blocked',
      'governor-over-budget-budget-in-store': 'overBudget',
      'governor-over-budget': 'overBudget',
      'governor-singleton': 'governor',
      // The same run once the main loop answers permits (patch governor-answers-from-main-loop).
      'governor-answers-from-main-loop': 'governor',
      // The same run once grants are claimed in the database and relayed to it (grantRecorded).
      'governor-relayed-grants': 'governor',
      // The same run once the governor keeps its switch in its memo (patch governor-switch-in-memo).
      'governor-switch-in-memo': 'governor',
    },
  },
  {
    // Paused while its approved isolate holds a permit; the kill switch is engaged during the
    // pause. After the resume the case asks about the switch again and waits for the release.
    name: 'pause',
    server: 'dev',
    identities: { held: 'gated' },
    steps: [
      { alert: 'held' },
      { until: 'held', pending: 'isolate' },
      { pause: 'held', by: 'oncall-1' },
      { decide: 'approve', who: 'held', stage: 'isolate', by: 'alice', via: 'update' },
      { until: 'held', waitingFor: 'resume' },
      { killSwitch: 'engage', by: 'ciso-1', reason: 'automation misbehaving' },
      { resume: 'held', by: 'oncall-1' },
      { until: 'held', waitingFor: 'governor' },
      { killSwitch: 'release', by: 'ciso-1', reason: 'fixed' },
      { until: 'held', waitingFor: 'verify-window' },
    ],
    record: {
      'kill-switch-after-pause': 'held',
      // The same run once the budget is claimed in the database (patch budget-claimed-in-store).
      'kill-switch-after-pause-budget-in-store': 'held',
    },
  },
];
