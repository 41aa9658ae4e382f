import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../src/alerts';
import { findIdentity } from '../src/inventory';
import { ConfigFileError, escalatePlan, loadInventory, loadPolicy, plan, PolicySchema } from '../src/policy';
import { makeAlert } from './support/alerts';

const policy = loadPolicy(path.join(__dirname, '..', 'config', 'policy.yaml'));
const inventory = loadInventory(path.join(__dirname, '..', 'config', 'inventory.yaml'));

function planFor(id: string, overrides: Partial<Alert> = {}) {
  const alert = makeAlert({ identity: { provider: 'simulated', id }, ...overrides });
  return plan(alert, findIdentity(inventory, alert.identity), policy);
}
const stageNames = (p: ReturnType<typeof plan>) => p.stages.map((s) => s.stage);
const gated = (p: ReturnType<typeof plan>) => p.stages.filter((s) => s.requiresApproval).map((s) => s.stage);

describe('the default policy', () => {
  it('observes only on low confidence, even for a critical alert', () => {
    const p = planFor('svc-payments', { confidence: 0.3, severity: 'critical' });
    expect(stageNames(p)).toEqual(['observe']);
    expect(p.reasons).toContain('revoke: out (not in rule "low-confidence-observe-only")');
  });

  it('auto-revokes a high-confidence leak of an ephemeral token', () => {
    const p = planFor('ci-job-token-7f3a', { kind: 'secret_leak', confidence: 0.95 });
    expect(stageNames(p)).toEqual(['restrict', 'revoke', 'rotate']);
    expect(gated(p)).toEqual([]);
  });

  it('gates destructive steps on production long-lived credentials behind approval', () => {
    const p = planFor('svc-payments', { confidence: 0.9, severity: 'high' });
    expect(stageNames(p)).toEqual(['observe', 'restrict', 'isolate', 'verify-window', 'revoke', 'rotate']);
    expect(gated(p)).toEqual(['isolate', 'revoke', 'rotate']);
    expect(p.stages.find((s) => s.stage === 'revoke')).toMatchObject({
      reversible: false,
      approvers: { groups: ['secops'], required: 1 },
    });
  });

  it('never auto-revokes shared, break-glass or unknown identities', () => {
    for (const id of ['shared-reporting-key', 'breakglass-admin', 'never-heard-of-it']) {
      const p = planFor(id, { kind: 'secret_leak', confidence: 1, severity: 'critical' });
      for (const stage of p.stages.filter((s) => !s.reversible))
        expect(stage.requiresApproval, `${id} ${stage.stage}`).toBe(true);
    }
    expect(planFor('never-heard-of-it', { confidence: 0.9 }).identity.known).toBe(false);
  });

  it('plans only what GitHub can do for a GitHub identity: observe, then a revoke two people approve', () => {
    const alert = makeAlert({ identity: { provider: 'github', id: 'acme/website/secret-scanning/42' } });
    const p = plan(alert, findIdentity(inventory, alert.identity), policy);
    expect(p.rule).toBe('github-token-revoke-with-approval');
    expect(stageNames(p)).toEqual(['observe', 'revoke']);
    expect(p.stages[1]).toMatchObject({ requiresApproval: true, approvers: { required: 2 } });
    // Other providers never match it.
    expect(planFor('never-heard-of-it', { confidence: 0.9 }).rule).toBe('unknown-identity-contain-only');
  });

  it('gates isolation of an identity many services depend on, by its consumers count', () => {
    const p = planFor('shared-reporting-key', { confidence: 0.9, severity: 'high' });
    expect(p.reasons.join('\n')).toContain('guard "wide-blast-radius"');
    const owned = PolicySchema.parse({
      ...policy,
      guards: [
        {
          name: 'payments-owner-decides',
          when: { owners: ['payments-oncall@example.com'] },
          requireApproval: ['restrict'],
        },
      ],
    });
    const alert = makeAlert({
      identity: { provider: 'simulated', id: 'svc-payments' },
      confidence: 0.9,
      severity: 'high',
    });
    expect(
      plan(alert, findIdentity(inventory, alert.identity), owned).stages.find((s) => s.stage === 'restrict')
        ?.requiresApproval,
    ).toBe(true);
  });

  it('keeps the safety floor even when a policy file tries to auto-revoke everything', () => {
    const reckless = PolicySchema.parse({
      ...policy,
      guards: [],
      rules: [{ name: 'revoke-all', stages: [{ stage: 'revoke' }] }],
    });
    const alert = makeAlert({ identity: { provider: 'simulated', id: 'shared-reporting-key' } });
    const p = plan(alert, findIdentity(inventory, alert.identity), reckless);
    expect(p.stages[0]).toMatchObject({ stage: 'revoke', requiresApproval: true });
    expect(p.reasons.join('\n')).toContain('shared credential is never revoked automatically');
  });

  it('carries the policy version and a digest that changes with the policy', () => {
    const p = planFor('svc-payments');
    expect(p.policyVersion).toBe(policy.version);
    expect(p.policyDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const changed = plan(makeAlert(), undefined, { ...policy, version: 'other' });
    expect(changed.policyDigest).not.toBe(p.policyDigest);
  });

  it('is deterministic: the same inputs give the identical plan', () => {
    expect(planFor('svc-payments', { id: 'same' })).toEqual(planFor('svc-payments', { id: 'same' }));
  });
});

describe('plan escalation', () => {
  it('adds stages for stronger evidence and never removes any', () => {
    const weak = planFor('svc-payments', { confidence: 0.6, severity: 'medium' });
    const strong = planFor('svc-payments', { confidence: 0.95, severity: 'critical' });
    const up = escalatePlan(weak, strong);
    expect(up.added).toEqual(['isolate', 'revoke', 'rotate']);
    const down = escalatePlan(up.plan, planFor('svc-payments', { confidence: 0.2 }));
    expect(down.added).toEqual([]);
    expect(stageNames(down.plan)).toEqual(stageNames(up.plan));
  });
});

describe('plan escalation of approvals', () => {
  it('keeps the stricter approval when newer evidence gates a stage already planned', () => {
    const p = planFor('svc-payments', { confidence: 0.9, severity: 'high' });
    const automatic = { ...p, stages: p.stages.map((s) => ({ ...s, requiresApproval: false })) };
    const up = escalatePlan(automatic, p);
    expect(up.added).toEqual([]);
    expect(up.gated).toEqual(['isolate', 'revoke', 'rotate']);
    expect(up.plan.stages.filter((s) => s.requiresApproval).map((s) => s.stage)).toEqual([
      'isolate',
      'revoke',
      'rotate',
    ]);
  });
});

describe('policy validation', () => {
  it('rejects unknown approver groups and out-of-order stages, naming the field', () => {
    const bad = {
      ...policy,
      rules: [
        {
          name: 'x',
          stages: [{ stage: 'revoke', approval: 'required', approvers: { groups: ['nobody'] } }, { stage: 'restrict' }],
        },
      ],
    };
    const result = PolicySchema.safeParse(bad);
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['rules.0.stages.0.approvers.groups.0', 'rules.0.stages.1.stage']));
  });

  it('rejects an irreversible stage that would proceed on timeout', () => {
    const bad = {
      ...policy,
      rules: [{ name: 'x', stages: [{ stage: 'revoke', approval: 'required', approvers: { onTimeout: 'proceed' } }] }],
    };
    expect(PolicySchema.safeParse(bad).success).toBe(false);
  });

  it('reports a broken file with the file name and failing fields', () => {
    expect(() => loadPolicy(path.join(__dirname, '..', 'package.json'))).toThrow(ConfigFileError);
  });
});
