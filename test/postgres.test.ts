// DATABASE_URL: the audit store and the simulated provider on a real PostgreSQL server.
import { afterAll, describe, expect, it } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { verifyChain, type AuditEntry } from '../src/audit/entry';
import { openDatabase } from '../src/db';
import { MIGRATIONS } from '../src/db/migrations';
import { AUDIT_TABLES } from '../src/db/roles';
import { moveKillSwitch } from '../src/killSwitch/store';
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

// Issue 21 item 3: the service's role can read and append to the audit, and nothing else there.
describe('the service role (DATABASE_URL) beside the owner (CORDON_MIGRATION_DATABASE_URL)', () => {
  const as = (role: string) => {
    const url = new URL(pg.url);
    url.username = role;
    url.pathname = '/cordon_roles';
    return url.toString();
  };

  it('may insert and read audit entries but not update, delete, truncate or unguard them', async () => {
    await h.db.query('CREATE ROLE cordon_owner LOGIN');
    await h.db.query('CREATE ROLE cordon_app LOGIN');
    await h.db.query('CREATE DATABASE cordon_roles OWNER cordon_owner');
    const service = await openDatabase({ url: as('cordon_app'), migrationUrl: as('cordon_owner') });
    try {
      // What the service does with the store works: the switch's move appends to its audit chain.
      await moveKillSwitch(service, { engaged: true, by: 'ciso', reason: 'drill' });
      await moveKillSwitch(service, { engaged: false, by: 'ciso' });
      const { rows } = await service.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_entries');
      expect(rows[0].n).toBe(2);
      for (const table of AUDIT_TABLES) {
        await expect(service.query(`UPDATE ${table} SET seq = seq`)).rejects.toThrow(/permission denied/);
        await expect(service.query(`DELETE FROM ${table}`)).rejects.toThrow(/permission denied/);
        await expect(service.query(`TRUNCATE ${table}`)).rejects.toThrow(/permission denied/);
        await expect(service.query(`ALTER TABLE ${table} DISABLE TRIGGER USER`)).rejects.toThrow(/must be owner/);
        await expect(service.query(`DROP TABLE ${table}`)).rejects.toThrow(/must be owner/);
      }
      // The record of migrations belongs to the owner too.
      await expect(
        service.query("INSERT INTO schema_migrations (version, description) VALUES (999, 'forged')"),
      ).rejects.toThrow(/permission denied/);
    } finally {
      await service.close();
    }
  });

  it('starts several processes together: their migrations and grants wait for each other', async () => {
    await h.db.query('CREATE DATABASE cordon_together OWNER cordon_owner');
    const together = (role: string) => as(role).replace('/cordon_roles', '/cordon_together');
    // Unserialized, concurrent GRANTs on one table fail with "tuple concurrently updated".
    const opened = await Promise.allSettled(
      Array.from({ length: 6 }, () =>
        openDatabase({ url: together('cordon_app'), migrationUrl: together('cordon_owner') }),
      ),
    );
    await Promise.all(opened.map((o) => (o.status === 'fulfilled' ? o.value.close() : undefined)));
    expect(opened.map((o) => (o.status === 'rejected' ? String(o.reason) : 'opened'))).toEqual(Array(6).fill('opened'));
  });

  it('refuses to run the service as the owner when both URLs name one role', async () => {
    await expect(openDatabase({ url: as('cordon_owner'), migrationUrl: as('cordon_owner') })).rejects.toThrow(
      /same role/,
    );
  });
});
