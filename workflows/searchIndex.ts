import { upsertSearchAttributes } from '@temporalio/workflow';
import { ATTENTION, OUTCOME, SEVERITY, STAGE } from '../src/temporal/searchAttributes';
import type { ContainmentStatus, RecordedAlert } from './definitions';

const SEVERITY_RANK = { low: 0, medium: 1, high: 2, critical: 3 } as const;

/** A case's search attributes: stage, outcome, worst severity, why it needs attention. */
export class SearchIndex {
  private last = '';

  constructor(
    /** False where Cordon's search attributes are not registered (the time-skipping server). */
    private readonly enabled: boolean,
    /** A dry run's outcome is prefixed, so a search for real outcomes never counts it. */
    private readonly shadow: boolean,
  ) {}

  /** Upserts what changed since the last call: every upsert is a history event. */
  update(status: ContainmentStatus, alerts: RecordedAlert[]): void {
    if (!this.enabled) return;
    const worst = [...alerts].sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity])[0]?.severity;
    const pairs = [
      { key: STAGE, value: status.stage },
      { key: OUTCOME, value: this.shadow ? `shadow:${status.outcome}` : status.outcome },
      ...(worst ? [{ key: SEVERITY, value: worst }] : []),
      { key: ATTENTION, value: status.attention?.slice(0, 200) ?? null },
    ];
    const text = JSON.stringify(pairs.map((p) => p.value));
    if (text === this.last) return;
    this.last = text;
    upsertSearchAttributes(pairs);
  }
}
