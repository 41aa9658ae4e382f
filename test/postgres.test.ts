// DATABASE_URL: the audit store and the simulated provider on a real PostgreSQL server.
import { afterAll, describe, expect, it } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { verifyChain, type AuditEntry } from '../src/audit/entry';
import { openDatabase } from '../src/db';
import { MIGRATIONS } from '../src/db/migrations';
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
    const { rows } = await h.db.query<{ entry: AuditEntry }>(
      'SELECT entry FROM audit_entries WHERE workflow_id = $1 ORDER BY seq',
      [handle.workflowId],
    );
    const entries = rows.map((r) => r.entry);
    expect(verifyChain(entries)).toBeNull();
    expect(entries).toEqual((await handle.query(auditQuery)).slice(0, entries.length));
  });

  it('applies each versioned migration once, also when two processes start together', async () => {
    const [a, b] = await Promise.all([openDatabase({ url: pg.url }), openDatabase({ url: pg.url })]);
    await Promise.all([a.close(), b.close()]);
    const { rows } = await h.db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('refuses to update or delete audit entries (append-only)', async () => {
    await expect(h.db.query('DELETE FROM audit_entries')).rejects.toThrow(/append-only/);
    await expect(h.db.query("UPDATE audit_entries SET hash = 'x'")).rejects.toThrow(/append-only/);
  });
});
