// `cordon policy lint|diff`: checks a policy file before it ships, and shows what a change does
// to the plans of alerts: a folder of them, or real cases (diffSources.ts).
import { z } from 'zod';
import { loadConfig } from '../config';
import { findIdentity } from '../inventory';
import type { Inventory } from '../inventory/schema';
import { casePlan, describeChange, diffPlans, diffSettings, type PlanChange } from '../policy/diff';
import { formatFinding, lintPolicyText } from '../policy/lint';
import { loadInventory, loadPolicy } from '../policy/load';
import { policyDigest } from '../policy/plan';
import type { Policy } from '../policy/schema';
import { readCases, type CaseSet, type DiffSource, type ReplayCase } from './diffSources';
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

/** The two policies a diff compares, and the inventory both plan with. */
export interface PolicyPair {
  old: { file: string; policy: Policy };
  new: { file: string; policy: Policy };
  inventory: Inventory;
}

/** Reads and validates both policies and the inventory: a bad file is a usage error before any alert is read. */
export function readPolicies(oldFile: string, newFile: string, inventoryFile: string): PolicyPair {
  return {
    old: { file: oldFile, policy: loadPolicy(oldFile) },
    new: { file: newFile, policy: loadPolicy(newFile) },
    inventory: loadInventory(inventoryFile),
  };
}

/** One case (or alert file) whose final plan differs between the two policies. */
export type ChangedCase = ReplayCase['origin'] & { alertIds: string[]; identity: string; change: PlanChange };

/**
 * Plans every case under both policies, each replaying its alerts in order (the first plans, each
 * later one escalates), and returns the cases whose final plans differ, with what differs.
 */
export function comparePolicies(policies: PolicyPair, set: CaseSet) {
  const changed: ChangedCase[] = [];
  for (const { origin, alerts } of set.cases) {
    const identity = findIdentity(policies.inventory, alerts[0].identity);
    const change = diffPlans(
      casePlan(alerts, identity, policies.old.policy),
      casePlan(alerts, identity, policies.new.policy),
    );
    const { provider, id } = alerts[0].identity;
    if (change) changed.push({ ...origin, alertIds: alerts.map((a) => a.id), identity: `${provider}:${id}`, change });
  }
  const side = ({ file, policy }: PolicyPair['old']) => ({
    file,
    version: policy.version,
    digest: policyDigest(policy),
  });
  return {
    old: side(policies.old),
    new: side(policies.new),
    settings: diffSettings(policies.old.policy, policies.new.policy),
    cases: set.cases.length,
    alerts: set.cases.reduce((sum, c) => sum + c.alerts.length, 0),
    changed,
    skipped: set.skipped,
  };
}

/** What `policy diff` takes besides the two policies. */
export interface DiffSourceOptions {
  alerts?: string;
  fromAudit?: boolean;
  since?: string;
  fromHistory?: string;
}

/** The source the options name; exactly one, and `--since` only with the audit store. */
function diffSource(opts: DiffSourceOptions): DiffSource {
  const given = [opts.alerts !== undefined, opts.fromAudit === true, opts.fromHistory !== undefined];
  if (given.filter(Boolean).length !== 1)
    throw new UsageError('policy diff needs exactly one of --alerts DIR, --from-audit, --from-history QUERY');
  if (opts.since !== undefined && !opts.fromAudit) throw new UsageError('--since goes with --from-audit');
  if (opts.since !== undefined && !z.iso.datetime({ offset: true }).safeParse(opts.since).success)
    throw new UsageError(`--since ${opts.since}: not an ISO time such as 2026-11-01T00:00:00Z`);
  if (opts.fromHistory !== undefined && !opts.fromHistory.trim())
    throw new UsageError('--from-history needs a visibility query, e.g. "WorkflowType=\'containIdentity\'"');
  if (opts.alerts !== undefined) return { alerts: opts.alerts };
  return opts.fromAudit ? { audit: { since: opts.since } } : { history: opts.fromHistory! };
}

type DiffReport = ReturnType<typeof comparePolicies>;

// A changed case's heading: the alert file, or the case's workflow id, with its alerts.
function heading(c: ChangedCase): string {
  if ('file' in c) return `${c.file} (alert ${c.alertIds[0]}, ${c.identity}):`;
  return `${c.workflowId} (alert${c.alertIds.length > 1 ? 's' : ''} ${c.alertIds.join(', ')}):`;
}

function printReport(report: DiffReport, source: DiffSource): void {
  const head = `${report.old.file} (${report.old.version}) → ${report.new.file} (${report.new.version})`;
  const counted =
    'alerts' in source
      ? `${report.changed.length} of ${report.alerts} alert(s)`
      : `${report.changed.length} of ${report.cases} case(s) (${report.alerts} alert(s) replayed)`;
  process.stdout.write(`${head}: ${counted} plan differently\n`);
  for (const c of report.settings)
    process.stdout.write(`policy-wide ${c.field}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}\n`);
  for (const s of report.skipped) process.stdout.write(`not replayed: ${s.workflowId}: ${s.reason}\n`);
  for (const c of report.changed) {
    process.stdout.write(`\n${heading(c)}\n`);
    for (const line of describeChange(c.change)) process.stdout.write(`  ${line}\n`);
  }
}

/**
 * `policy diff OLD NEW --alerts DIR | --from-audit [--since T] | --from-history QUERY`: exit 0
 * either way, or 1 on any change with --fail-on-change.
 */
export async function diffPolicyFiles(
  oldFile: string,
  newFile: string,
  opts: DiffSourceOptions & { inventory?: string; json?: boolean; failOnChange?: boolean },
): Promise<number> {
  const source = diffSource(opts);
  const config = loadConfig();
  const policies = readPolicies(oldFile, newFile, opts.inventory ?? config.CORDON_INVENTORY_FILE);
  const report = { from: source, ...comparePolicies(policies, await readCases(source, config)) };
  if (opts.json) printJson(report);
  else printReport(report, source);
  return opts.failOnChange && (report.changed.length > 0 || report.settings.length > 0)
    ? ExitCode.failure
    : ExitCode.ok;
}
