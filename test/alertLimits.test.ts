// The ledger's limits, without a server: what a case keeps, what it sheds, and how it says so.
import { describe, expect, it } from 'vitest';
import { canonicalJson, digestOf } from '../src/digest';
import { AlertLedger } from '../workflows/alertLedger';
import { makeAlert } from './support/alerts';

const identity = { provider: 'simulated', id: 'svc-limits' };
const alert = (n: number, evidence?: Record<string, unknown>) =>
  makeAlert({ id: `limits-${n}`, identity, ...(evidence && { evidence }) });

describe('a case over its byte budget', () => {
  it('sheds new alerts once the records it keeps would pass alertBytes, and reports them in one entry', () => {
    const ledger = new AlertLedger(identity);
    ledger.limits.use({ alertsPerMinute: 10_000, alertBytes: 16 * 1024 });
    const dispositions = Array.from({ length: 200 }, (_, n) => ledger.receive(alert(n)));

    const kept = dispositions.filter((d) => d !== 'shed').length;
    expect(kept).toBeGreaterThan(10);
    expect(dispositions.slice(kept).every((d) => d === 'shed')).toBe(true);
    const keptBytes = ledger.alerts.reduce((bytes, a) => bytes + canonicalJson(a).length, 0);
    expect(keptBytes).toBeLessThanOrEqual(16 * 1024);
    expect(keptBytes + canonicalJson(ledger.alerts[0]).length).toBeGreaterThan(16 * 1024 - 100);
    expect(ledger.limits.shedTotals()).toEqual({ rate: 0, bytes: 200 - kept });

    const report = ledger.limits.takeReport('restrict')!;
    expect(report).toMatchObject({ event: 'alerts.shed', result: { shed: { rate: 0, bytes: 200 - kept } } });
    expect(report.reason).toMatch(/over the 16384 bytes of alert records/);
    expect(report.alertIds).toEqual(Array.from({ length: 10 }, (_, i) => `limits-${kept + i}`));
    expect(ledger.limits.takeReport('restrict')).toBeUndefined();
  });

  it('still counts a repeated alert id as a duplicate: it keeps no new record', () => {
    const ledger = new AlertLedger(identity);
    ledger.limits.use({ alertsPerMinute: 10_000, alertBytes: 16 * 1024 });
    while (ledger.receive(alert(ledger.alerts.length)) !== 'shed');
    expect(ledger.receive(alert(0))).toBe('duplicate');
  });
});

describe('a case over its alert rate', () => {
  it('takes alertsPerMinute deliveries of any kind, then sheds until the minute has passed', () => {
    const ledger = new AlertLedger(identity);
    ledger.limits.use({ alertsPerMinute: 5 });
    const answers = [alert(1), alert(1), 'not an alert', alert(2), alert(3), alert(4), alert(5)].map((a) =>
      ledger.receive(a),
    );
    expect(answers).toEqual(['started', 'duplicate', 'rejected', 'merged', 'merged', 'shed', 'shed']);
    expect(ledger.limits.takeReport('observe')?.result).toMatchObject({ shed: { rate: 2, bytes: 0 } });
  });

  it('carries its window and totals into a continued run', () => {
    const ledger = new AlertLedger(identity);
    ledger.limits.use({ alertsPerMinute: 2 });
    ['a', 'b', 'c'].forEach((id) => ledger.receive(makeAlert({ id, identity })));
    const continued = new AlertLedger(identity, ledger.alerts, [], false, ledger.carry());
    continued.limits.use({ alertsPerMinute: 2 });
    expect(continued.receive(makeAlert({ id: 'd', identity }))).toBe('shed');
    expect(continued.limits.shedTotals()).toEqual({ rate: 2, bytes: 0 });
    expect(continued.takeNew().map((a) => a.id)).toEqual(['a', 'b']);
  });
});

describe('evidence held by the store', () => {
  it('records the same fingerprint for an alert whose evidence the intake stored as for the evidence itself', () => {
    const evidence = { commit: 'abc', secret: 'sha256:' + '0'.repeat(64), blob: 'x'.repeat(100_000) };
    const inline = new AlertLedger(identity);
    const referenced = new AlertLedger(identity);
    inline.receive(alert(1, evidence));
    const reference = { evidenceRef: digestOf(evidence), evidenceBytes: JSON.stringify(evidence).length };
    referenced.receive(alert(1, reference));
    expect(referenced.alerts[0].evidence).toBe(inline.alerts[0].evidence);
    expect(inline.alerts[0].evidence).toBe(digestOf(evidence));
    // Plans never read evidence: the case keeps none of it in memory or in what it carries.
    expect(JSON.stringify(inline.carry())).not.toContain('xxxx');
  });
});
