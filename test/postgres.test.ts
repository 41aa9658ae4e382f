// DATABASE_URL: the audit store and the simulated provider on a real PostgreSQL server.
import { afterAll, describe, expect, it } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { verifyChain, type AuditEntry } from '../src/audit/entry';
import { openDatabase } from '../src/db';
import { auditQuery } from '../workflows/definitions';
import { useHarness } from './support/harness';
import { startPostgres, type TestPostgres } from './support/postgres';
import { waitForStatus } from './support/scenario';

let pg: TestPostgres;
// Registered before the harness: vitest runs afterAll hooks last-in first-out.
afterAll(() => pg?.stop());
const h = useHarness({
  database: async () => {
    pg = await startPostgres();
    return openDatabase({ url: pg.url });
  },
});

describe('PostgreSQL via DATABASE_URL', () => {
  it('runs a full containment with its audit chain and provider state in PostgreSQL', async () => {
    expect(h.db.kind).toBe('postgres');
    const { id, handle } = await h.contain('auto');
    await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));

    expect(await listActions(h.db, id)).toEqual(['restrict', 'revoke', 'rotate']);
    const { rows } = await h.db.query<{ entry: AuditEntry }>('SELECT entry FROM audit_entries WHERE workflow_id = $1 ORDER BY seq', [handle.workflowId]);
    const entries = rows.map((r) => r.entry);
    expect(verifyChain(entries)).toBeNull();
    expect(entries).toEqual((await handle.query(auditQuery)).slice(0, entries.length));
  });

  it('applies the migrations idempotently on every start', async () => {
    const again = await openDatabase({ url: pg.url });
    await again.close();
    const { rows } = await h.db.query<{ n: string }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'audit_entries'");
    expect(Number(rows[0].n)).toBe(1);
  });
});
