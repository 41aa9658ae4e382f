// The eight seed scenarios under the shipped policy: a policy edit that changes how any of them
// is contained fails here until its expected plan is updated on purpose.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAlerts } from '../src/cli/diffSources';
import { findIdentity } from '../src/inventory';
import { loadInventory, loadPolicy, plan, type Plan } from '../src/policy';

const DIR = path.join(__dirname, 'scenarios');
const policy = loadPolicy(path.join(__dirname, '..', 'config', 'policy.yaml'));
const inventory = loadInventory(path.join(DIR, 'inventory.yaml'));
// Read the way `cordon plan` and `cordon policy diff` read alert files.
const alerts = loadAlerts(path.join(DIR, 'alerts'));

// What the expected files pin: the rule, each stage's gate and timeout, and the plan's reasons.
const essentials = (p: Plan) => ({
  rule: p.rule,
  stages: p.stages.map((s) => ({
    stage: s.stage,
    requiresApproval: s.requiresApproval,
    onTimeout: s.approval.onTimeout,
  })),
  reasons: p.reasons,
});

const planOf = (name: string) => {
  const found = alerts.find((a) => path.basename(a.file) === `${name}.json`);
  if (!found) throw new Error(`no alert for scenario ${name}`);
  return plan(found.alert, findIdentity(inventory, found.alert.identity), policy);
};

describe('seed scenarios under config/policy.yaml', () => {
  it('has an expected plan for every alert and an alert for every expected plan', () => {
    const names = (dir: string) => readdirSync(path.join(DIR, dir)).sort();
    expect(names('alerts')).toHaveLength(8);
    expect(names('expected')).toEqual(names('alerts'));
  });

  for (const file of readdirSync(path.join(DIR, 'expected')).sort()) {
    const name = path.basename(file, '.json');
    it(`plans "${name}" as expected`, () => {
      const { scenario: _why, ...expected } = JSON.parse(readFileSync(path.join(DIR, 'expected', file), 'utf8')) as {
        scenario: string;
      };
      const p = planOf(name);
      // Every scenario is about an identity the inventory knows: an unknown one would be a typo.
      expect(p.identity.known).toBe(true);
      expect(essentials(p)).toEqual(expected);
    });
  }

  it('never revokes or rotates any seed identity without approval', () => {
    for (const { file } of alerts) {
      const p = planOf(path.basename(file, '.json'));
      for (const stage of p.stages.filter((s) => !s.reversible))
        expect(stage.requiresApproval, `${file} ${stage.stage}`).toBe(true);
    }
  });
});
