// `cordon policy lint|diff`: checks a policy file before it ships, and shows what a change does
// to the plans of a folder of alerts. Neither needs Temporal.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Alert } from '../alerts/schema';
import { findIdentity } from '../inventory';
import { describeChange, diffPlans, diffSettings, type PlanChange } from '../policy/diff';
import { formatFinding, lintPolicyText } from '../policy/lint';
import { loadInventory, loadPolicy } from '../policy/load';
import { plan, policyDigest } from '../policy/plan';
import { validAlert } from './commands';
import { ExitCode, UsageError } from './errors';
import { printJson, readInput } from './io';

/**
 * `policy lint FILE [--strict]`: one `FILE:LINE:COL severity: message [check]` line per finding.
 * Exit 1 when there is an error (or, with --strict, a warning); warnings alone exit 0.
 */
export function lintPolicyFile(file: string, opts: { strict?: boolean }): number {
  const findings = lintPolicyText(readInput(file).toString('utf8'));
  for (const finding of findings) process.stdout.write(`${formatFinding(file, finding)}\n`);
  const errors = findings.filter((f) => f.severity === 'error').length;
  const warnings = findings.length - errors;
  console.error(`${file}: ${errors} error(s), ${warnings} warning(s)`);
  return errors > 0 || (opts.strict && warnings > 0) ? ExitCode.failure : ExitCode.ok;
}

/** The alerts of a folder's `*.json` files (or one file), in name order, as `plan` reads them. */
export function loadAlerts(dirOrFile: string): { file: string; alert: Alert }[] {
  let files: string[];
  try {
    files = statSync(dirOrFile).isDirectory()
      ? readdirSync(dirOrFile)
          .filter((name) => name.endsWith('.json'))
          .sort()
          .map((name) => path.join(dirOrFile, name))
      : [dirOrFile];
  } catch (err) {
    throw new UsageError(`cannot read ${dirOrFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (files.length === 0) throw new UsageError(`no alert .json files in ${dirOrFile}`);
  return files.map((file) => ({ file, alert: validAlert(file) }));
}

/** One alert whose plan differs between the two policies. */
export interface ChangedAlert {
  file: string;
  alertId: string;
  identity: string;
  change: PlanChange;
}

/** Plans every alert under both policies; the alerts whose plans differ, with what differs. */
export function comparePolicies(oldFile: string, newFile: string, alertsDir: string, inventoryFile: string) {
  const before = loadPolicy(oldFile);
  const after = loadPolicy(newFile);
  const inventory = loadInventory(inventoryFile);
  const alerts = loadAlerts(alertsDir);
  const changed: ChangedAlert[] = [];
  for (const { file, alert } of alerts) {
    const identity = findIdentity(inventory, alert.identity);
    const change = diffPlans(plan(alert, identity, before), plan(alert, identity, after));
    if (change)
      changed.push({ file, alertId: alert.id, identity: `${alert.identity.provider}:${alert.identity.id}`, change });
  }
  const side = (file: string, policy: typeof before) => ({
    file,
    version: policy.version,
    digest: policyDigest(policy),
  });
  return {
    old: side(oldFile, before),
    new: side(newFile, after),
    settings: diffSettings(before, after),
    alerts: alerts.length,
    changed,
  };
}

/** `policy diff OLD NEW --alerts DIR`: exit 0 either way, or 1 on any change with --fail-on-change. */
export function diffPolicyFiles(
  oldFile: string,
  newFile: string,
  opts: { alerts: string; inventory: string; json?: boolean; failOnChange?: boolean },
): number {
  const report = comparePolicies(oldFile, newFile, opts.alerts, opts.inventory);
  if (opts.json) {
    printJson(report);
  } else {
    const head = `${report.old.file} (${report.old.version}) → ${report.new.file} (${report.new.version})`;
    process.stdout.write(`${head}: ${report.changed.length} of ${report.alerts} alert(s) plan differently\n`);
    for (const c of report.settings)
      process.stdout.write(`policy-wide ${c.field}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}\n`);
    for (const c of report.changed) {
      process.stdout.write(`\n${c.file} (alert ${c.alertId}, ${c.identity}):\n`);
      for (const line of describeChange(c.change)) process.stdout.write(`  ${line}\n`);
    }
  }
  return opts.failOnChange && (report.changed.length > 0 || report.settings.length > 0)
    ? ExitCode.failure
    : ExitCode.ok;
}
