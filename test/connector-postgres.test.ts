// The PostgreSQL roles connector against a real scram-sha-256 server: actions, undos, workflow.
import { ApplicationFailure } from '@temporalio/activity';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresConnector } from '../activities/connectors/postgres';
import { toFailure } from '../activities/connectors/postgres/client';
import { fingerprint } from '../src/digest';
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
/** A fresh action request (its own idempotency key) in containment case `caseId`. */
const request = (role: string, caseId = 'case-1') => ({ identityId: role, idempotencyKey: `test-${++keys}`, caseId });

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
    const { rows } = await admin.query(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND pid <> $2',
      [role, keep],
    );
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
      expect(before.grants).toContainEqual({
        kind: 'table',
        schema: 'app',
        name: 'items',
        privilege: 'INSERT',
        grantable: false,
        grantor: 'app_delegate',
      });
      // Never the verifier itself, only its fingerprint.
      const { rows } = await admin.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role]);
      expect(JSON.stringify(before)).not.toContain(rows[0].rolpassword);

      const effects: Record<string, (live?: pg.Client) => Promise<void>> = {
        restrict: async () => {
          expect(await works(role, 'unit-pw-1')).toMatch(/permission denied/);
          expect(await c.snapshot(role)).toMatchObject({
            grants: [],
            memberOf: [],
            flags: { createDb: false, canLogin: true },
          });
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
        expect(await c.verify(role, action, 'case-1')).toBe(true);
        expect(await spec.run(run)).toMatchObject({ changed: false, detail: { already: true } });
        await effects[action](live);
        await live.end().catch(() => undefined);
        await settled(role);
        expect(await c.snapshot(role)).not.toEqual(before);

        const undo = request(role);
        expect((await spec.undo!(undo)).changed).toBe(true);
        expect(await spec.undo!(undo)).toMatchObject({ changed: false, detail: { already: true } });
        expect(await c.verify(role, action, 'case-1')).toBe(false);
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
      expect(await c.verify(role, 'revoke', 'case-1')).toBe(true);
      expect(await revoke.run(key)).toMatchObject({ changed: false, detail: { already: true } });
      await expect(live.query('SELECT 1')).rejects.toThrow();
      expect(await works(role, 'revoke-pw-1')).toMatch(/password authentication failed/);
      expect(await c.snapshot(role)).toMatchObject({
        password: { set: false, fingerprint: null },
        observed: { sessions: [] },
      });

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
    expect(denied.message).toMatch(
      /permission denied for table pg_authid.*SQLSTATE 42501.*needs SELECT on pg_catalog\.pg_authid/,
    );
    // The alternative to superuser: a superuser grants the catalog columns the connector reads.
    await admin.query(`GRANT SELECT (oid, rolname, rolpassword, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
      rolreplication, rolbypassrls, rolconnlimit, rolvaliduntil) ON pg_catalog.pg_authid TO weak`);
    expect(await weak.snapshot('cordon')).toMatchObject({
      role: 'cordon',
      flags: { superuser: true },
      password: { set: true },
    });
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
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'approve', requestId, approver: 'alice', reason: 'leaked in CI logs' }],
    });
    const contained = await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(contained.applied.map((a) => [a.action, a.changed, a.verified])).toEqual([
      ['restrict', true, true],
      ['isolate', true, true],
    ]);
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

  it("each containment case undoes to the state it found, never to an earlier case's capture", async () => {
    const role = 'svc_cases';
    await makeRole(role, 'cases-pw-1');
    const c = connector();
    try {
      const original = await c.snapshot(role);
      // Case 1 restricts and isolates, and closes "contained": it is never undone.
      for (const action of ['restrict', 'isolate'] as const)
        expect((await c.actions[action]!.run(request(role, 'case-1'))).changed).toBe(true);
      const lockedDown = await c.snapshot(role);
      expect(lockedDown).toMatchObject({ grants: [], memberOf: [], flags: { canLogin: false, createDb: false } });

      // Case 2: the operator kept the role locked down. Both actions find it contained already, and
      // a false positive undoes to what case 2 found: case 1's grants and LOGIN do not come back.
      for (const action of ['restrict', 'isolate'] as const) {
        expect(await c.actions[action]!.run(request(role, 'case-2'))).toMatchObject({
          changed: false,
          detail: { already: true },
        });
      }
      for (const action of ['isolate', 'restrict'] as const)
        expect((await c.actions[action]!.undo!(request(role, 'case-2'))).changed).toBe(false);
      expect(await c.snapshot(role)).toEqual(lockedDown);
      expect(await works(role, 'cases-pw-1')).toMatch(/not permitted to log in/);

      // Case 3: the operator has given the role one privilege back (and kept it NOLOGIN).
      await admin.query(`GRANT SELECT ON app.items TO ${role}`);
      const atCase3 = await c.snapshot(role);
      expect(atCase3.grants).toHaveLength(1);
      expect(await c.actions.restrict!.run(request(role, 'case-3'))).toMatchObject({
        changed: true,
        detail: { revokedGrants: 1 },
      });
      expect(await c.actions.isolate!.run(request(role, 'case-3'))).toMatchObject({
        changed: false,
        detail: { already: true },
      });
      expect(await c.snapshot(role)).toMatchObject({ grants: [] });
      expect((await c.actions.isolate!.undo!(request(role, 'case-3'))).changed).toBe(false);
      expect(await c.actions.restrict!.undo!(request(role, 'case-3'))).toMatchObject({
        changed: true,
        detail: { restoredGrants: 1 },
      });
      expect(await c.snapshot(role)).toEqual(atCase3);

      // Case 1's captures stayed its own: undoing case 1 (were it ever undone) restores the original.
      expect((await c.actions.restrict!.undo!(request(role, 'case-1'))).changed).toBe(true);
      expect((await c.actions.isolate!.undo!(request(role, 'case-1'))).changed).toBe(true);
      expect(await c.snapshot(role)).toEqual(original);
      expect(await works(role, 'cases-pw-1')).toBe(true);
      await settled(role);
    } finally {
      await c.close();
    }
  });

  it('a retry within a case keeps the capture of its first attempt', async () => {
    const role = 'svc_retry';
    await makeRole(role, 'retry-pw-1');
    const c = connector();
    try {
      const before = await c.snapshot(role);
      // Restrict commits; then something re-grants one privilege, so the post-condition fails and
      // Temporal retries the same request. The retry revokes that grant; the undo restores everything.
      const restrict = request(role, 'case-r');
      expect((await c.actions.restrict!.run(restrict)).changed).toBe(true);
      await admin.query(`GRANT SELECT ON app.items TO ${role}`);
      expect(await c.verify(role, 'restrict', 'case-r')).toBe(false);
      expect(await c.actions.restrict!.run(restrict)).toMatchObject({ changed: true, detail: { revokedGrants: 1 } });
      expect(await c.verify(role, 'restrict', 'case-r')).toBe(true);
      expect(await c.actions.restrict!.undo!(request(role, 'case-r'))).toMatchObject({
        changed: true,
        detail: { restoredGrants: 6, restoredMemberships: ['app_readers'] },
      });
      expect(await c.snapshot(role)).toEqual(before);

      // Rotate; someone sets a password of their own before the retry: the undo still restores the
      // password from before the case, not theirs.
      const rotate = request(role, 'case-r');
      expect((await c.actions.rotate!.run(rotate)).changed).toBe(true);
      await admin.query(`ALTER ROLE ${role} PASSWORD 'intruder-pw-1'`);
      expect((await c.actions.rotate!.run(rotate)).changed).toBe(true);
      expect((await c.actions.rotate!.undo!(request(role, 'case-r'))).changed).toBe(true);
      expect(await works(role, 'intruder-pw-1')).toMatch(/password authentication failed/);
      expect(await works(role, 'retry-pw-1')).toBe(true);
      await settled(role);
      expect(await c.snapshot(role)).toEqual(before);

      // A NOLOGIN role with a session left over: isolate ends the session. LOGIN is turned on before
      // the retry; the undo restores NOLOGIN, as the role was when the case began.
      const live = clientAs(role, 'retry-pw-1');
      live.on('error', () => undefined);
      await live.connect();
      await admin.query(`ALTER ROLE ${role} NOLOGIN`);
      const isolate = request(role, 'case-r');
      expect(await c.actions.isolate!.run(isolate)).toMatchObject({ changed: true, detail: { sessionsTerminated: 1 } });
      await live.end().catch(() => undefined);
      await admin.query(`ALTER ROLE ${role} LOGIN`);
      expect((await c.actions.isolate!.run(isolate)).changed).toBe(true);
      expect(await c.actions.isolate!.undo!(request(role, 'case-r'))).toMatchObject({
        changed: false,
        detail: { canLogin: false },
      });
      expect(await c.snapshot(role)).toMatchObject({ flags: { canLogin: false } });
      expect(await works(role, 'retry-pw-1')).toMatch(/not permitted to log in/);
    } finally {
      await c.close();
    }
  });

  it('never keeps or fingerprints an md5 verifier: its rotation happens but cannot be undone', async () => {
    const role = 'svc_md5';
    await makeRole(role, 'md5-pw-1');
    await admin.query(
      `SET password_encryption = 'md5'; ALTER ROLE ${role} PASSWORD 'md5-pw-1'; RESET password_encryption`,
    );
    const md5 = (await admin.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role])).rows[0]
      .rolpassword as string;
    expect(md5).toMatch(/^md5[0-9a-f]{32}$/);
    const leaks = (value: unknown) => {
      const text = JSON.stringify(value);
      return text.includes(md5.slice(3)) || text.includes(fingerprint(md5));
    };
    const c = connector();
    try {
      const snapshot = await c.snapshot(role);
      expect(snapshot.password).toEqual({ set: true, method: 'md5', fingerprint: null });
      expect(leaks(snapshot)).toBe(false);

      const rotated = await c.actions.rotate!.run(request(role, 'case-md5'));
      expect(rotated).toMatchObject({
        changed: true,
        detail: { previousPasswordFingerprint: null, previousPasswordMethod: 'md5', undoable: false },
      });
      expect(leaks(rotated)).toBe(false);
      expect(await c.verify(role, 'rotate', 'case-md5')).toBe(true);
      const { rows } = await h.db.query<{ captured: unknown }>(
        `SELECT captured FROM connector_captures WHERE provider = 'postgres' AND identity_id = $1`,
        [role],
      );
      expect(rows.map((r) => (typeof r.captured === 'string' ? JSON.parse(r.captured) : r.captured))).toEqual([
        { notKept: 'md5' },
      ]);

      const refused = await failureOf(c.actions.rotate!.undo!(request(role, 'case-md5')));
      expect(refused).toMatchObject({ type: 'PostgresNotRestorable', nonRetryable: true });
      expect(refused.message).toMatch(/md5 verifier, which Cordon never keeps/);
      expect(leaks(refused.message)).toBe(false);
      expect(await c.verify(role, 'rotate', 'case-md5')).toBe(true);

      // Revoke's evidence has no md5 fingerprint either.
      await admin.query(
        `SET password_encryption = 'md5'; ALTER ROLE ${role} PASSWORD 'md5-pw-1'; RESET password_encryption`,
      );
      const revoked = await c.actions.revoke!.run(request(role, 'case-md5'));
      expect(revoked).toMatchObject({ changed: true, detail: { revokedPasswordFingerprint: null } });
      expect(leaks(revoked)).toBe(false);
    } finally {
      await c.close();
    }
  });

  it('restrict covers column, routine and other object ACLs, and undo puts each back', async () => {
    const role = 'svc_acl';
    await makeRole(role, 'acl-pw-1');
    await admin.query(`
      CREATE TABLE app.wide (a int, secret int);
      CREATE FUNCTION app.answer(x integer, y text) RETURNS int LANGUAGE sql AS 'SELECT 42';
      REVOKE EXECUTE ON FUNCTION app.answer(integer, text) FROM PUBLIC;
      CREATE TYPE app.mood AS ENUM ('ok');
      CREATE FOREIGN DATA WRAPPER acl_fdw;
      CREATE SERVER acl_srv FOREIGN DATA WRAPPER acl_fdw;
      SELECT lo_create(424242);
      GRANT SELECT (a) ON app.wide TO ${role};
      GRANT UPDATE (a) ON app.wide TO ${role} WITH GRANT OPTION;
      GRANT EXECUTE ON FUNCTION app.answer(integer, text) TO ${role};
      GRANT USAGE ON TYPE app.mood TO ${role};
      GRANT USAGE ON LANGUAGE plpgsql TO ${role};
      GRANT USAGE ON FOREIGN DATA WRAPPER acl_fdw TO ${role};
      GRANT USAGE ON FOREIGN SERVER acl_srv TO ${role};
      GRANT SELECT ON LARGE OBJECT 424242 TO ${role};
      GRANT SET ON PARAMETER work_mem TO ${role};
      ALTER DEFAULT PRIVILEGES FOR ROLE app_delegate IN SCHEMA app GRANT SELECT ON TABLES TO ${role};
    `);
    const privileges = async () =>
      (
        await admin.query(
          `SELECT has_column_privilege($1, 'app.wide', 'a', 'SELECT') AS "column",
                  has_function_privilege($1, 'app.answer(integer, text)', 'EXECUTE') AS routine,
                  has_parameter_privilege($1, 'work_mem', 'SET') AS parameter,
                  has_server_privilege($1, 'acl_srv', 'USAGE') AS server`,
          [role],
        )
      ).rows[0];
    const c = connector();
    try {
      const before = await c.snapshot(role);
      const kinds = new Set((before.grants as { kind: string }[]).map((g) => g.kind));
      expect([...kinds].sort()).toEqual([
        'column',
        'database',
        'foreign data wrapper',
        'foreign server',
        'language',
        'large object',
        'parameter',
        'routine',
        'schema',
        'sequence',
        'table',
        'type',
      ]);
      expect(before.grants).toContainEqual({
        kind: 'column',
        schema: 'app',
        name: 'wide',
        column: 'a',
        privilege: 'UPDATE',
        grantable: true,
        grantor: 'cordon',
      });
      expect(before.grants).toContainEqual({
        kind: 'routine',
        schema: 'app',
        name: 'answer',
        args: 'x integer, y text',
        privilege: 'EXECUTE',
        grantable: false,
        grantor: 'cordon',
      });
      expect(before).toMatchObject({
        notCovered: { owns: [], otherPrivileges: [], otherDatabases: [] },
        defaultPrivileges: [expect.stringMatching(/default privileges/)],
      });
      expect(await privileges()).toEqual({ column: true, routine: true, parameter: true, server: true });

      const result = await c.actions.restrict!.run(request(role));
      expect(result).toMatchObject({
        changed: true,
        detail: {
          revokedGrants: (before.grants as unknown[]).length,
          notCovered: { defaultPrivileges: [expect.any(String)] },
        },
      });
      expect(await c.verify(role, 'restrict', 'case-1')).toBe(true);
      expect(await c.snapshot(role)).toMatchObject({ grants: [] });
      expect(await privileges()).toEqual({ column: false, routine: false, parameter: false, server: false });

      expect((await c.actions.restrict!.undo!(request(role))).changed).toBe(true);
      expect(await c.snapshot(role)).toEqual(before);
      expect(await privileges()).toEqual({ column: true, routine: true, parameter: true, server: true });
    } finally {
      await c.close();
    }
  });

  it('restrict refuses, without changing anything, a role that owns objects or holds privileges in another database', async () => {
    const role = 'svc_owner';
    await admin.query(
      `CREATE ROLE ${role} LOGIN PASSWORD 'owner-pw-1'; CREATE TABLE app.owned (x int); ALTER TABLE app.owned OWNER TO ${role}`,
    );
    const c = connector();
    try {
      // No direct grant at all, yet the owner can read and re-grant itself anything on its table.
      const before = await c.snapshot(role);
      expect(before).toMatchObject({ grants: [], memberOf: [], notCovered: { owns: ['table app.owned'] } });
      expect(await c.verify(role, 'restrict', 'case-1')).toBe(false);
      const refused = await failureOf(c.actions.restrict!.run(request(role)));
      expect(refused).toMatchObject({ type: 'PostgresNotCovered', nonRetryable: true });
      expect(refused.message).toMatch(
        /^restrict of role "svc_owner" cannot take away everything .*it owns table app\.owned/,
      );
      expect(await c.snapshot(role)).toEqual(before);
      expect(await c.actions.restrict!.undo!(request(role))).toMatchObject({
        changed: false,
        detail: { already: true },
      });

      // Once it owns nothing, it is restricted; a privilege in another database makes it not again.
      await admin.query(`ALTER TABLE app.owned OWNER TO cordon`);
      expect(await c.verify(role, 'restrict', 'case-1')).toBe(true);
      expect(await c.actions.restrict!.run(request(role, 'case-2'))).toMatchObject({
        changed: false,
        detail: { already: true },
      });
      await admin.query('CREATE DATABASE otherdb');
      const other = new pg.Client({ connectionString: server.url.replace(/\/postgres$/, '/otherdb') });
      await other.connect();
      try {
        await other.query(`CREATE TABLE elsewhere (x int); GRANT SELECT ON elsewhere TO ${role}`);
      } finally {
        await other.end();
      }
      expect(await c.verify(role, 'restrict', 'case-3')).toBe(false);
      const elsewhere = await failureOf(c.actions.restrict!.run(request(role, 'case-3')));
      expect(elsewhere).toMatchObject({ type: 'PostgresNotCovered', nonRetryable: true });
      expect(elsewhere.message).toMatch(/other databases: otherdb \(0 owned, 1 privileges\)/);
    } finally {
      await c.close();
    }
  });

  it('classifies SQLSTATEs: waits and cancellations retry, everything permanent does not', () => {
    const classify = (code: string) => toFailure('restrict of role "x"', Object.assign(new Error('boom'), { code }));
    // 57014 query_canceled (statement_timeout), 55P03 lock_not_available, 40P01 deadlock, 57P01 admin shutdown, 53300 too many connections.
    for (const code of ['57014', '55P03', '40P01', '40001', '57P01', '53300', '08006', 'ECONNRESET']) {
      expect(classify(code), code).toMatchObject({ type: 'PostgresUnavailable', nonRetryable: false });
    }
    expect(classify('42501')).toMatchObject({ type: 'PostgresPermissionDenied', nonRetryable: true });
    expect(classify('42704')).toMatchObject({ type: 'PostgresRoleNotFound', nonRetryable: true });
    expect(classify('2BP01')).toMatchObject({ type: 'PostgresError', nonRetryable: true });
    expect(classify('57014').message).toBe('PostgreSQL restrict of role "x" failed: boom (SQLSTATE 57014)');
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
