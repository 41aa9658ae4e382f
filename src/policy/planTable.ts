// `cordon plan`'s default output: a plan as a short aligned table for a person to read. The JSON
// (`--json`) repeats every stage's approval settings, which buries what differs between stages.
// Pure: the same plan always prints the same text.
import type { Plan, PlannedIdentity, PlannedStage } from './plan';
import { STAGE_ORDER } from './stages';

// The width the table aims for: the reason column wraps to stay within it where it can.
const TARGET_WIDTH = 100;
// Who approves wraps at this width: escalation lists are long, and the reason wraps anyway.
const APPROVAL_WIDTH = 20;
// Narrower than this, the reason column would break most words: the table grows wider instead.
const MIN_REASON_WIDTH = 30;
const GAP = '  ';
const HEADER = ['STAGE', 'ACTION', 'APPROVAL', 'DEADLINE', 'ON-TIMEOUT', 'REVERSIBLE', 'REASON'];

/**
 * Splits `text` into lines of at most `maxWidth`, at spaces, or after a hyphen inside a word too
 * long for the line (guard and rule names are long kebab-case); cuts only a piece still too long.
 */
export function wrap(text: string, maxWidth: number): string[] {
  const width = Math.max(1, maxWidth);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const pieces = word.length > width ? (word.match(/[^-]*-|[^-]+$/g) ?? [word]) : [word];
    pieces.forEach((whole, i) => {
      const joined = `${line}${line && i === 0 ? ' ' : ''}${whole}`;
      if (joined.length <= width) return void (line = joined);
      if (line) lines.push(line);
      let piece = whole;
      for (; piece.length > width; piece = piece.slice(width)) lines.push(piece.slice(0, width));
      line = piece;
    });
  }
  return line || lines.length === 0 ? [...lines, line] : lines;
}

// `auto`, or who must approve: n of the groups, then the groups each passed deadline adds.
function approvalLines(stage: PlannedStage): string[] {
  if (!stage.requiresApproval) return ['auto'];
  const { required, groups } = stage.approvers;
  const escalation = stage.approval.escalation;
  const lines = [`${required} of ${groups.join('+')}`, ...(escalation.length ? [`then ${escalation.join(', ')}`] : [])];
  return lines.flatMap((line) => wrap(line, APPROVAL_WIDTH));
}

// The plan explains each stage in a reason `<stage>: in (<why>)` or `<stage>: out (<why>)` (plan.ts).
function stageReason(plan: Plan, stage: string, inOrOut: 'in' | 'out'): string | undefined {
  const prefix = `${stage}: ${inOrOut} (`;
  const reason = plan.reasons.find((r) => r.startsWith(prefix));
  return reason?.slice(prefix.length, reason.endsWith(')') ? -1 : undefined);
}

function describeIdentity(identity: PlannedIdentity): string {
  const name = `${identity.provider}:${identity.id}`;
  if (!identity.known) return `${name} (unknown: not in the inventory)`;
  const facts = [
    identity.class,
    identity.shared && 'shared',
    identity.environment,
    `criticality ${identity.criticality}`,
  ];
  return `${name} (known; ${facts.filter(Boolean).join(', ')})`;
}

// One row per stage, each cell as its lines (the reason is wrapped once its width is known).
function stageRow(plan: Plan, stage: PlannedStage): string[][] {
  const gated = stage.requiresApproval;
  return [
    [stage.stage],
    [stage.window ? `${stage.action} ${stage.window}` : stage.action],
    approvalLines(stage),
    [gated ? stage.approval.deadline : '-'],
    [gated ? stage.approval.onTimeout : '-'],
    [stage.reversible ? 'yes' : 'no'],
    [stageReason(plan, stage.stage, 'in') ?? ''],
  ];
}

// Aligned columns; the last one (the reason) wraps to what the others leave of the target width.
function renderTable(rows: string[][][]): string[] {
  const fixed = HEADER.slice(0, -1).map((title, col) =>
    Math.max(title.length, ...rows.flatMap((row) => row[col].map((line) => line.length))),
  );
  const used = fixed.reduce((sum, w) => sum + w + GAP.length, 0);
  const longest = Math.max(HEADER.at(-1)!.length, ...rows.map((row) => row.at(-1)![0].length));
  const reasonWidth = Math.min(longest, Math.max(MIN_REASON_WIDTH, TARGET_WIDTH - used));
  const lines: string[] = [];
  for (const row of [HEADER.map((h) => [h]), ...rows]) {
    const cells = [...row.slice(0, -1), row.at(-1)!.flatMap((text) => wrap(text, reasonWidth))];
    const height = Math.max(...cells.map((cell) => cell.length));
    for (let i = 0; i < height; i++) {
      const padded = cells.map((cell, col) => (cell[i] ?? '').padEnd(col < fixed.length ? fixed[col] : 0));
      lines.push(padded.join(GAP).trimEnd());
    }
  }
  return lines;
}

// The stages left out, those with the same reason on one line.
function outLines(plan: Plan, planned: Set<string>): string[] {
  const byReason = new Map<string, string[]>();
  for (const name of STAGE_ORDER.filter((n) => !planned.has(n))) {
    const why = stageReason(plan, name, 'out') ?? 'not planned';
    byReason.set(why, [...(byReason.get(why) ?? []), name]);
  }
  return [...byReason].map(([why, names]) => `out       ${names.join(', ')}: ${why}`);
}

/** The plan as text: what matched and for whom, one row per stage, then the stages left out and why. */
export function formatPlanTable(plan: Plan): string {
  const digest = plan.policyDigest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]*$/, '$1');
  const planned = new Set(plan.stages.map((s) => s.stage));
  return [
    `rule      ${plan.rule}`,
    `identity  ${describeIdentity(plan.identity)}`,
    `policy    ${plan.policyVersion} (${digest})`,
    '',
    ...renderTable(plan.stages.map((stage) => stageRow(plan, stage))),
    ...(planned.size < STAGE_ORDER.length ? ['', ...outLines(plan, planned)] : []),
    '',
  ].join('\n');
}
