// The PostgreSQL roles connector against a real scram-sha-256 server: actions, undos, workflow.
import { ApplicationFailure } from '@temporalio/activity';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresConnector } from '../activities/connectors/postgres';
import type { ActionName } from '../activities/connectors/types';
import { auditQuery, decideUpdate, falsePositiveSignal } from '../workflows/definitions';
import { makeAlert } from './support/alerts';
import { useHarness } from './support/harness';
import { startPostgres, type TestPostgres } from './support/postgres';
import { freePort } from './support/processes';
import { eventually, pendingRequestId, waitForStatus } from './support/scenario';

const ADMIN_PASSWORD = 'admin-pw-9f3c';
let server: TestPostgres;
let admin: pg.Client;

// Registered before the harness: the worker's connector settings need the server's URL, and
// vitest runs afterAll hooks last-in first-out, so the server stops after the worker.
beforeAll(async () => {
  server = await startPostgres({ password: ADMIN_PASSWORD });
  admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`
    CREATE SCHEMA app;
    CREATE TABLE app.items (v int);
    INSERT INTO app.items VALUES (42);
    CREATE SEQUENCE app.ids;
    CREATE ROLE app_readers NOLOGIN;
    GRANT USAGE ON SCHEMA app TO app_readers;
    CREATE ROLE app_delegate NOLOGIN;
    GRANT USAGE ON SCHEMA app TO app_delegate;
    GRANT INSERT ON app.items TO app_delegate WITH GRANT OPTION;
  `);
});
afterAll(async () => {
  await admin?.end();
  await server?.stop();
});
const h = useHarness({ connectors: () => ({ postgres: { url: server.url } }) });

const connector = () => createPostgresConnector(h.db, { url: server.url });
let keys = 0;
const request = (role: string) => ({ identityId: role, idempotencyKey: `test-${++keys}` });

/** A login role with a password that can SELECT app.items (directly, with USAGE through a membership). */
async function makeRole(role: string, password: string): Promise<void> {
  const r = pg.escapeIdentifier(role);
  await admin.query(`CREATE ROLE ${r} LOGIN CREATEDB PASSWORD ${pg.escapeLiteral(password)}`);
  await admin.query(`
    GRANT SELECT ON app.items TO ${r};
    GRANT UPDATE ON app.items TO ${r} WITH GRANT OPTION;
    GRANT USAGE ON SEQUENCE app.ids TO ${r};
    GRANT CREATE ON SCHEMA app TO ${r};
    GRANT TEMPORARY ON DATABASE postgres TO ${r};
    GRANT app_readers TO ${r};
    SET ROLE app_delegate; GRANT INSERT ON app.items TO ${r}; RESET ROLE;
  `);
}

function clientAs(role: string, password: string): pg.Client {
  const url = new URL(server.url);
  url.username = role;
  url.password = password;
  return new pg.Client({ connectionString: url.toString() });
}

/** "The identity works": log in as the role with its password and SELECT. Returns the error otherwise. */
async function works(role: string, password: string): Promise<true | string> {
  const client = clientAs(role, password);
  try {
    await client.connect();
    const { rows } = await client.query('SELECT v FROM app.items');
    expect(rows).toEqual([{ v: 42 }]);
    return true;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Waits until no session of the role is left (a closed client's backend exits asynchronously). */
/** Waits until the role has no sessions but `keep` (a backend pid the test holds open). */
const settled = (role: string, keep = 0) =>
  eventually(async () => {
    const { rows } = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND pid <> $2', [role, keep]);
    expect(rows[0].n).toBe(0);
  });

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('PostgreSQL roles connector', () => {
  it('restrict, isolate and rotate each undo to the exact snapshot; repeats are no-ops; verify follows', async () => {
    const role = 'svc_unit';
    await makeRole(role, 'unit-pw-1');
    const c = connector();
    try {
      expect(await works(role, 'unit-pw-1')).toBe(true);
      await settled(role);
      const before = await c.snapshot(role);
      expect(before).toMatchObject({
        role,
        flags: { canLogin: true, createDb: true, superuser: false },
        password: { set: true, method: 'scram-sha-256', fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
        memberOf: [{ role: 'app_readers', admin: false }],
        observed: { sessions: [] },
      });
      expect(before.grants).toHaveLength(6);
      expect(before.grants).toContainEqual({ kind: 'table', schema: 'app', name: 'items', privilege: 'INSERT', grantable: false, grantor: 'app_delegate' });
      // Never the verifier itself, only its fingerprint.
      const { rows } = await admin.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role]);
      expect(JSON.stringify(before)).not.toContain(rows[0].rolpassword);

      const effects: Record<string, (live?: pg.Client) => Promise<void>> = {
        restrict: async () => {
          expect(await works(role, 'unit-pw-1')).toMatch(/permission denied/);
          expect(await c.snapshot(role)).toMatchObject({ grants: [], memberOf: [], flags: { createDb: false, canLogin: true } });
        },
        isolate: async (live) => {
          await expect(live!.query('SELECT 1')).rejects.toThrow();
          expect(await works(role, 'unit-pw-1')).toMatch(/not permitted to log in/);
        },
        rotate: async () => {
          expect(await works(role, 'unit-pw-1')).toMatch(/password authentication failed/);
        },
      };
      for (const action of ['restrict', 'isolate', 'rotate'] as const) {
        const spec = c.actions[action]!;
        expect(spec.reversible).toBe(true);
        expect(spec.permissions.length).toBeGreaterThan(0);
        // A live session, which isolate must end.
        const live = clientAs(role, 'unit-pw-1');
        live.on('error', () => undefined);
        await live.connect();
        const run = request(role);
        expect((await spec.run(run)).changed).toBe(true);
        expect(await c.verify(role, action)).toBe(true);
        expect(await spec.run(run)).toMatchObject({ changed: false, detail: { already: true } });
        await effects[action](live);
        await live.end().catch(() => undefined);
        await settled(role);
        expect(await c.snapshot(role)).not.toEqual(before);

        const undo = request(role);
        expect((await spec.undo!(undo)).changed).toBe(true);
        expect(await spec.undo!(undo)).toMatchObject({ changed: false, detail: { already: true } });
        expect(await c.verify(role, action)).toBe(false);
        expect(await works(role, 'unit-pw-1')).toBe(true);
        await settled(role);
        expect(await c.snapshot(role)).toEqual(before);
      }
    } finally {
      await c.close();
    }
  });

  it('revoke clears the password for good and ends sessions; it has no undo', async () => {
    const role = 'svc_revoke';
    await makeRole(role, 'revoke-pw-1');
    const c = connector();
    try {
      const live = clientAs(role, 'revoke-pw-1');
      live.on('error', () => undefined);
      await live.connect();
      // A rotation made before the revoke must not bring the revoked password back on undo.
      expect((await c.actions.rotate!.run(request(role))).changed).toBe(true);

      const revoke = c.actions.revoke!;
      expect(revoke.reversible).toBe(false);
      expect(revoke.undo).toBeUndefined();
      const key = request(role);
      const result = await revoke.run(key);
      expect(result).toMatchObject({ changed: true, detail: { passwordSet: false, sessionsTerminated: 1 } });
      expect(await c.verify(role, 'revoke')).toBe(true);
      expect(await revoke.run(key)).toMatchObject({ changed: false, detail: { already: true } });
      await expect(live.query('SELECT 1')).rejects.toThrow();
      expect(await works(role, 'revoke-pw-1')).toMatch(/password authentication failed/);
      expect(await c.snapshot(role)).toMatchObject({ password: { set: false, fingerprint: null }, observed: { sessions: [] } });

      const refused = await failureOf(c.actions.rotate!.undo!(request(role)));
      expect(refused).toMatchObject({ type: 'PostgresConflict', nonRetryable: true });
      expect(refused.message).toMatch(/revoked after the rotation/);
      expect(await works(role, 'revoke-pw-1')).toMatch(/password authentication failed/);
    } finally {
      await c.close();
    }
  });

  it('maps provider errors to retryable and non-retryable failures with clear messages', async () => {
    const c = connector();
    const unknown = await failureOf(c.actions.restrict!.run(request('no_such_role')));
    expect(unknown).toMatchObject({ type: 'PostgresRoleNotFound', nonRetryable: true });
    expect(unknown.message).toBe('PostgreSQL role "no_such_role" does not exist');
    const tooLong = await failureOf(c.snapshot('x'.repeat(64)));
    expect(tooLong).toMatchObject({ type: 'PostgresInvalidInput', nonRetryable: true });
    const self = await failureOf(c.actions.isolate!.run(request('cordon')));
    expect(self).toMatchObject({ type: 'PostgresRefused', nonRetryable: true });
    await c.close();

    // A connector role without SELECT on pg_authid: permanent, and says what is missing.
    await admin.query(`CREATE ROLE weak LOGIN PASSWORD 'weak-pw-1'`);
    const weakUrl = new URL(server.url);
    weakUrl.username = 'weak';
    weakUrl.password = 'weak-pw-1';
    const weak = createPostgresConnector(h.db, { url: weakUrl.toString() });
    const denied = await failureOf(weak.snapshot('cordon'));
    expect(denied).toMatchObject({ type: 'PostgresPermissionDenied', nonRetryable: true });
    expect(denied.message).toMatch(/permission denied for table pg_authid.*SQLSTATE 42501.*needs SELECT on pg_catalog\.pg_authid/);
    // The alternative to superuser: a superuser grants the catalog columns the connector reads.
    await admin.query(`GRANT SELECT (oid, rolname, rolpassword, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
      rolreplication, rolbypassrls, rolconnlimit, rolvaliduntil) ON pg_catalog.pg_authid TO weak`);
    expect(await weak.snapshot('cordon')).toMatchObject({ role: 'cordon', flags: { superuser: true }, password: { set: true } });
    await weak.close();

    // Nothing listens on the port: transient, retried; the URL's password is never in the message.
    const downUrl = new URL(server.url);
    downUrl.port = String(await freePort());
    const down = createPostgresConnector(h.db, { url: downUrl.toString() });
    const unavailable = await failureOf(down.actions.isolate!.run(request('svc_unit')));
    expect(unavailable).toMatchObject({ type: 'PostgresUnavailable', nonRetryable: false });
    expect(unavailable.message).toMatch(/^PostgreSQL isolate of role "svc_unit" failed: .*ECONNREFUSED/);
    expect(unavailable.message).not.toContain(ADMIN_PASSWORD);
    await down.close();
  });

  it('contains a role through the workflow with an approved isolate, and a false positive restores it', async () => {
    const role = 'svc_flow';
    await makeRole(role, 'flow-pw-1');
    expect(await works(role, 'flow-pw-1')).toBe(true);
    await settled(role);
    // A live session at the first snapshot: isolate ends it, and the rollback still counts as
    // restored, because sessions are observed evidence, not state Cordon puts back.
    const live = clientAs(role, 'flow-pw-1');
    live.on('error', () => undefined);
    await live.connect();
    const livePid = (await live.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    h.inventory.add('gated', { provider: 'postgres', id: role });
    await h.send(makeAlert({ identity: { provider: 'postgres', id: role } }));
    const handle = h.env.client.workflow.getHandle(`contain:postgres:${role}`);

    const requestId = await pendingRequestId(handle, 'isolate');
    expect(await works(role, 'flow-pw-1')).toMatch(/permission denied/);
    await settled(role, livePid);
    await handle.executeUpdate(decideUpdate, { args: [{ decision: 'approve', requestId, approver: 'alice', reason: 'leaked in CI logs' }] });
    const contained = await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(contained.applied.map((a) => [a.action, a.changed, a.verified])).toEqual([['restrict', true, true], ['isolate', true, true]]);
    expect(await works(role, 'flow-pw-1')).toMatch(/not permitted to log in/);

    await handle.signal(falsePositiveSignal, { by: 'alice', reason: 'known deploy job' });
    expect((await handle.result()).outcome).toBe('false-positive');
    const restored = (await handle.query(auditQuery)).find((e) => e.event === 'identity.restored');
    expect(restored).toMatchObject({ result: { restored: true } });
    const { before, after } = (restored as { result: Record<string, any> }).result;
    expect(before.observed.sessions).toHaveLength(1);
    expect(after.observed.sessions).toHaveLength(0);
    await live.end().catch(() => undefined);
    expect(await works(role, 'flow-pw-1')).toBe(true);
    const { rows } = await admin.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role]);
    expect(JSON.stringify(await handle.query(auditQuery))).not.toContain(rows[0].rolpassword);
  });

  it('lists its actions with least-privilege permissions, reversible exactly when undo exists', () => {
    const c = connector();
    for (const name of ['restrict', 'isolate', 'revoke', 'rotate'] as ActionName[]) {
      const action = c.actions[name]!;
      expect(action.reversible).toBe(action.undo !== undefined);
      expect(action.permissions.join('\n')).toMatch(/pg_authid/);
    }
  });
});
