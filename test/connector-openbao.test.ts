// The openbao connector against a real `bao server -dev`: each action, its undo, verify, the
// containment workflow with an approval and a false positive, and error mapping. Setup uses the
// dev root token; the connector itself runs with a token limited to CONNECTOR_POLICY.
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { capture } from '../activities/connectors/captures';
import { createOpenBaoConnector } from '../activities/connectors/openbao';
import type { Connector } from '../activities/connectors/types';
import { fingerprint } from '../src/digest';
import { auditQuery, decideUpdate, falsePositiveSignal } from '../workflows/definitions';
import { makeAlert } from './support/alerts';
import { useHarness } from './support/harness';
import { decodedHistoryText } from './support/history';
import { freePort } from './support/processes';
import { pendingRequestId, waitForStatus } from './support/scenario';
import { startOpenBao } from '../src/sandbox/servers';

/** The connector's least-privilege policy (also in the report / README). */
const CONNECTOR_POLICY = `
path "sys/mounts/auth/approle" { capabilities = ["read"] }
path "auth/approle/role/+" { capabilities = ["read"] }
path "auth/approle/role/+/role-id" { capabilities = ["read"] }
path "auth/approle/role/+/secret-id" { capabilities = ["list", "update"] }
path "auth/approle/role/+/secret-id-accessor/lookup" { capabilities = ["update"] }
path "auth/approle/role/+/secret-id-accessor/destroy" { capabilities = ["update"] }
path "identity/lookup/entity" { capabilities = ["update"] }
path "identity/entity/id/+" { capabilities = ["read", "update", "delete"] }
path "identity/entity/name/+" { capabilities = ["read"] }
path "identity/group/id/+" { capabilities = ["read"] }
path "identity/entity" { capabilities = ["update"] }
path "identity/entity-alias" { capabilities = ["update"] }
path "sys/policies/acl/*" { capabilities = ["read"] }
path "sys/policies/acl/cordon-deny-*" { capabilities = ["create", "read", "update", "delete"] }
path "auth/token/accessors" { capabilities = ["list", "sudo"] }
path "auth/token/lookup-accessor" { capabilities = ["update"] }
path "auth/token/revoke-accessor" { capabilities = ["update"] }
path "secret/data/cordon/*" { capabilities = ["create", "update", "read"] }
path "secret/metadata/cordon/*" { capabilities = ["read"] }
`;

let server: Awaited<ReturnType<typeof startOpenBao>>;
let connectorToken: string;

/** One API call; `token` defaults to root. Returns status and parsed body. */
async function api(method: string, path: string, body?: unknown, token = server.rootToken) {
  const res = await fetch(`${server.url}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': token, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function must(method: string, path: string, body?: unknown) {
  const res = await api(method, path, body);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** AppRole login; the token on success. */
async function login(roleId: string, secretId: string): Promise<{ status: number; token?: string }> {
  const res = await api('POST', 'auth/approle/login', { role_id: roleId, secret_id: secretId }, '');
  return { status: res.status, token: res.body?.auth?.client_token };
}

/** Reads the app secret the role's policy allows; the HTTP status. */
const readAppSecret = async (token: string) => (await api('GET', 'secret/data/app/db', undefined, token)).status;

let roles = 0;
/** A fresh AppRole role allowed to read secret/data/app/*, with a secret-id and a logged-in token. */
async function newRole() {
  roles += 1;
  const name = `svc-${roles}`;
  await must('POST', `auth/approle/role/${name}`, {
    token_policies: ['app-read'],
    token_ttl: '1h',
    token_max_ttl: '4h',
  });
  const roleId: string = (await must('GET', `auth/approle/role/${name}/role-id`)).data.role_id;
  const secretId: string = (await must('POST', `auth/approle/role/${name}/secret-id`, {})).data.secret_id;
  const { token } = await login(roleId, secretId);
  expect(await readAppSecret(token!)).toBe(200);
  return { name, roleId, secretId, token: token! };
}

async function tokenExpiry(token: string): Promise<number> {
  const { data } = await must('POST', 'auth/token/lookup', { token });
  return Date.parse(data.expire_time);
}

beforeAll(async () => {
  server = await startOpenBao();
  await must('POST', 'sys/auth/approle', { type: 'approle' });
  await must('PUT', 'sys/policies/acl/app-read', { policy: 'path "secret/data/app/*" { capabilities = ["read"] }' });
  await must('POST', 'secret/data/app/db', { data: { password: 'app-db-password' } });
  await must('PUT', 'sys/policies/acl/cordon-connector', { policy: CONNECTOR_POLICY });
  connectorToken = (
    await must('POST', 'auth/token/create-orphan', {
      policies: ['cordon-connector'],
      no_default_policy: true,
      ttl: '4h',
    })
  ).auth.client_token;
});
// Registered before the harness: vitest runs afterAll hooks last-in first-out.
afterAll(() => server?.stop());

const settings = () => ({ address: server.url, token: connectorToken, kvMount: 'secret' });
const h = useHarness({ connectors: () => ({ openbao: settings() }) });

let keys = 0;
/** One action call of containment case `caseId` (tests on one identity share the default case). */
const request = (identityId: string, caseId = 'case-a') => ({ identityId, idempotencyKey: `test/${++keys}`, caseId });
/** A snapshot without its `observed` part: what a rollback must give back. */
const restorable = ({ observed: _, ...rest }: Record<string, unknown>) => rest;
type Snap = {
  entity: { id: string; disabled: boolean; policies: string[] } | null;
  observed: { tokens: unknown[]; secretIds: unknown[] };
};
const snap = async (connector: Connector, id: string) => (await connector.snapshot(id)) as unknown as Snap;

describe('openbao connector', () => {
  let connector: Connector;
  beforeAll(() => {
    connector = createOpenBaoConnector(h.db, settings());
  });

  it('restrict: a deny policy cuts the live token; undo restores the entity policies exactly', async () => {
    const role = await newRole();
    const before = await connector.snapshot(role.name);
    expect(before).toMatchObject({
      entity: { disabled: false, policies: [] },
      observed: { tokens: [{ policies: ['app-read', 'default'] }] },
    });
    expect(await connector.verify(role.name, 'restrict', 'case-a')).toBe(false);

    const run = await connector.actions.restrict!.run(request(role.name));
    expect(run).toMatchObject({ changed: true, detail: { policies: [`cordon-deny-${role.name}`] } });
    expect(await connector.verify(role.name, 'restrict', 'case-a')).toBe(true);
    expect(await readAppSecret(role.token)).toBe(403);
    expect((await connector.actions.restrict!.run(request(role.name))).changed).toBe(false);

    const undo = await connector.actions.restrict!.undo!(request(role.name));
    expect(undo.changed).toBe(true);
    expect(await connector.verify(role.name, 'restrict', 'case-a')).toBe(false);
    expect(await readAppSecret(role.token)).toBe(200);
    expect(await connector.snapshot(role.name)).toEqual(before);
    expect((await api('GET', `sys/policies/acl/cordon-deny-${role.name}`)).status).toBe(404);
    expect(await connector.actions.restrict!.undo!(request(role.name))).toMatchObject({
      changed: false,
      detail: { already: true },
    });
  });

  it('restrict keeps policies the entity already had and gives them back on undo', async () => {
    const role = await newRole();
    const entityId = (await snap(connector, role.name)).entity!.id;
    await must('POST', `identity/entity/id/${entityId}`, { policies: ['app-read', 'extra'] });
    const before = await connector.snapshot(role.name);
    await connector.actions.restrict!.run(request(role.name));
    expect(await readAppSecret(role.token)).toBe(403);
    await connector.actions.restrict!.undo!(request(role.name));
    expect(await connector.snapshot(role.name)).toEqual(before);
    expect((await must('GET', `identity/entity/id/${entityId}`)).data.policies).toEqual(['app-read', 'extra']);
  });

  it("restrict also denies what the entity's identity groups and their parent groups grant; verify notices a new grant", async () => {
    const role = await newRole();
    const entityId = (await snap(connector, role.name)).entity!.id;
    for (const area of ['group', 'parent', 'later']) {
      await must('PUT', `sys/policies/acl/${area}-read-${role.name}`, {
        policy: `path "secret/data/${area}/*" { capabilities = ["read"] }`,
      });
      await must('POST', `secret/data/${area}/db`, { data: { password: `${area}-password` } });
    }
    const readArea = async (area: string) => (await api('GET', `secret/data/${area}/db`, undefined, role.token)).status;
    const team = (
      await must('POST', 'identity/group', {
        name: `team-${role.name}`,
        policies: [`group-read-${role.name}`],
        member_entity_ids: [entityId],
      })
    ).data.id as string;
    await must('POST', 'identity/group', {
      name: `org-${role.name}`,
      policies: [`parent-read-${role.name}`],
      member_group_ids: [team],
    });
    expect([await readArea('group'), await readArea('parent')]).toEqual([200, 200]);

    const run = await connector.actions.restrict!.run(request(role.name));
    expect(run.detail).toMatchObject({ groups: expect.any(Number) });
    expect([await readAppSecret(role.token), await readArea('group'), await readArea('parent')]).toEqual([
      403, 403, 403,
    ]);
    expect(await connector.verify(role.name, 'restrict', 'case-a')).toBe(true);

    // A path granted through the group after restrict is not denied yet: verify says so, a re-run covers it.
    await must('POST', `identity/group/id/${team}`, {
      policies: [`group-read-${role.name}`, `later-read-${role.name}`],
    });
    expect(await readArea('later')).toBe(200);
    expect(await connector.verify(role.name, 'restrict', 'case-a')).toBe(false);
    expect((await connector.actions.restrict!.run(request(role.name))).changed).toBe(true);
    expect(await readArea('later')).toBe(403);
    expect(await connector.verify(role.name, 'restrict', 'case-a')).toBe(true);

    await connector.actions.restrict!.undo!(request(role.name));
    expect([
      await readAppSecret(role.token),
      await readArea('group'),
      await readArea('parent'),
      await readArea('later'),
    ]).toEqual([200, 200, 200, 200]);
  });

  it('a role that never logged in: the entity Cordon creates binds its logins, and undo deletes it again', async () => {
    const name = 'never-logged-in';
    await must('POST', `auth/approle/role/${name}`, { token_policies: ['app-read'] });
    const roleId: string = (await must('GET', `auth/approle/role/${name}/role-id`)).data.role_id;
    const secretId: string = (await must('POST', `auth/approle/role/${name}/secret-id`, {})).data.secret_id;
    const before = await connector.snapshot(name);
    expect(before).toMatchObject({ entity: null, observed: { tokens: [] } });

    expect((await connector.actions.restrict!.run(request(name))).detail).toMatchObject({ entityCreated: true });
    const first = await login(roleId, secretId);
    expect(first.status).toBe(200);
    expect(await readAppSecret(first.token!)).toBe(403);
    expect((await connector.actions.isolate!.run(request(name))).detail).not.toHaveProperty('entityCreated');
    expect((await login(roleId, secretId)).status).toBe(403);
    expect((await must('GET', `identity/entity/name/approle-${name}`)).data.metadata).toMatchObject({
      created_by: 'cordon',
      cordon_role: name,
    });

    await connector.actions.isolate!.undo!(request(name));
    expect(await connector.actions.restrict!.undo!(request(name))).toMatchObject({
      changed: true,
      detail: { entityDeleted: true, tokensEnded: 1 },
    });
    expect((await api('GET', `identity/entity/name/approle-${name}`)).status).toBe(404);
    expect(restorable(await connector.snapshot(name))).toEqual(restorable(before));
    // A token of a login made while contained ends with the entity (OpenBao refuses it); a new login works.
    expect(await readAppSecret(first.token!)).toBe(403);
    const again = await login(roleId, secretId);
    expect(await readAppSecret(again.token!)).toBe(200);
  });

  it('refuses to take over an unrelated entity that has the name Cordon would create', async () => {
    const name = 'never-logged-in-2';
    await must('POST', `auth/approle/role/${name}`, { token_policies: ['app-read'] });
    const other = (await must('POST', 'identity/entity', { name: `approle-${name}`, policies: ['extra'] })).data
      .id as string;
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => expect.unreachable(),
        (err) => err as ApplicationFailure,
      );
    for (const action of ['restrict', 'isolate'] as const) {
      const err = await failure(connector.actions[action]!.run(request(name)));
      expect(err).toMatchObject({ type: 'OpenBaoConflict', nonRetryable: true });
      expect(err.message).toContain(`approle-${name}`);
      // The undo the rollback runs next leaves that entity alone, too.
      expect((await connector.actions[action]!.undo!(request(name))).changed).toBe(false);
    }
    const { data } = await must('GET', `identity/entity/id/${other}`);
    expect({ policies: data.policies, disabled: data.disabled, aliases: data.aliases }).toEqual({
      policies: ['extra'],
      disabled: false,
      aliases: [],
    });
    expect((await api('GET', `sys/policies/acl/cordon-deny-${name}`)).status).toBe(404);
  });

  it('isolate: the disabled entity refuses the token and new logins, TTLs untouched; undo works even after the tokens are gone', async () => {
    const role = await newRole();
    const before = await connector.snapshot(role.name);
    const expiry = await tokenExpiry(role.token);

    expect(await connector.actions.isolate!.run(request(role.name))).toMatchObject({
      changed: true,
      detail: { disabled: true },
    });
    expect(await connector.verify(role.name, 'isolate', 'case-a')).toBe(true);
    expect(await readAppSecret(role.token)).toBe(403);
    expect((await login(role.roleId, role.secretId)).status).toBe(403);
    expect(await tokenExpiry(role.token)).toBe(expiry);
    expect(await connector.actions.isolate!.run(request(role.name))).toMatchObject({
      changed: false,
      detail: { already: true },
    });

    expect((await connector.actions.isolate!.undo!(request(role.name))).changed).toBe(true);
    expect(await connector.verify(role.name, 'isolate', 'case-a')).toBe(false);
    expect(await readAppSecret(role.token)).toBe(200);
    const relogin = await login(role.roleId, role.secretId);
    expect(await readAppSecret(relogin.token!)).toBe(200);
    // The relogin added a token; without it the snapshot is the one from before.
    await must('POST', 'auth/token/revoke', { token: relogin.token });
    expect(await connector.snapshot(role.name)).toEqual(before);
    expect((await connector.actions.isolate!.undo!(request(role.name))).changed).toBe(false);

    // A false positive found late, after the workload's token expired (here: revoked) during isolation:
    // the rollback still gives the identity back; tokens are only observed evidence.
    await connector.actions.isolate!.run(request(role.name, 'case-late'));
    await must('POST', 'auth/token/revoke', { token: role.token });
    expect((await connector.actions.isolate!.undo!(request(role.name, 'case-late'))).changed).toBe(true);
    const after = await snap(connector, role.name);
    expect(after.observed.tokens).toEqual([]);
    expect(restorable(after as never)).toEqual(restorable(before));
  });

  it('revoke: old secret-ids and tokens no longer authenticate (irreversible)', async () => {
    const role = await newRole();
    const child = (await must('POST', 'auth/approle/role/' + role.name + '/secret-id', {})).data.secret_id as string;
    expect(connector.actions.revoke!.reversible).toBe(false);
    expect(connector.actions.revoke!.undo).toBeUndefined();

    const run = await connector.actions.revoke!.run(request(role.name));
    expect(run.changed).toBe(true);
    expect(run.detail).toMatchObject({
      secretIdsDestroyed: [expect.stringMatching(/^sha256:/), expect.stringMatching(/^sha256:/)],
      tokensRevoked: [expect.stringMatching(/^sha256:/)],
    });
    expect(await connector.verify(role.name, 'revoke', 'case-a')).toBe(true);
    expect(await readAppSecret(role.token)).toBe(403);
    expect((await login(role.roleId, role.secretId)).status).toBe(400);
    expect((await login(role.roleId, child)).status).toBe(400);
    expect(await connector.snapshot(role.name)).toMatchObject({ observed: { secretIds: [], tokens: [] } });
    expect(await connector.actions.revoke!.run(request(role.name))).toMatchObject({
      changed: false,
      detail: { already: true },
    });
  });

  it('rotate: a new secret-id lands in KV v2 with check-and-set, the old one is destroyed; only fingerprints come back', async () => {
    const role = await newRole();
    expect(await connector.verify(role.name, 'rotate', 'case-a')).toBe(false);
    const req = request(role.name);
    const run = await connector.actions.rotate!.run(req);
    expect(run).toMatchObject({
      changed: true,
      detail: {
        version: 1,
        path: `secret/data/cordon/${role.name}`,
        secretIdsDestroyed: [expect.stringMatching(/^sha256:/)],
      },
    });

    const stored = (await must('GET', `secret/data/cordon/${role.name}`)).data.data;
    expect(run.detail.secretFingerprint).toBe(fingerprint(stored.secret_id));
    expect(JSON.stringify(run)).not.toContain(stored.secret_id);
    expect(await connector.verify(role.name, 'rotate', 'case-a')).toBe(true);
    expect(await connector.verify(role.name, 'rotate', 'another-case')).toBe(false);
    expect((await login(role.roleId, role.secretId)).status).toBe(400);
    const fresh = await login(stored.role_id, stored.secret_id);
    expect(await readAppSecret(fresh.token!)).toBe(200);

    // A retry of the same activity is a no-op; a new rotation of the case writes version 2 on top (cas 1).
    expect(await connector.actions.rotate!.run(req)).toMatchObject({
      changed: false,
      detail: { already: true, version: 1, secretFingerprint: run.detail.secretFingerprint },
    });
    expect(await connector.actions.rotate!.run(request(role.name))).toMatchObject({
      changed: true,
      detail: { version: 2, secretIdsDestroyed: [] },
    });
    expect((await snap(connector, role.name)).observed.secretIds).toHaveLength(2);
  });

  it("revoke after rotate in the same case keeps the rotated secret-id; another case's revoke would not", async () => {
    const role = await newRole();
    await connector.actions.rotate!.run(request(role.name, 'case-r'));
    const stored = (await must('GET', `secret/data/cordon/${role.name}`)).data.data;
    const run = await connector.actions.revoke!.run(request(role.name, 'case-r'));
    expect(run.detail).toMatchObject({
      secretIdsDestroyed: [],
      tokensRevoked: [expect.stringMatching(/^sha256:/)],
      secretIdsKept: [fingerprint(stored.secret_id_accessor)],
    });
    expect(await readAppSecret(role.token)).toBe(403);
    expect(await connector.verify(role.name, 'revoke', 'case-r')).toBe(true);
    expect(await connector.verify(role.name, 'rotate', 'case-r')).toBe(true);
    expect(await connector.verify(role.name, 'revoke', 'case-s')).toBe(false);
    const fresh = await login(stored.role_id, stored.secret_id);
    expect(await readAppSecret(fresh.token!)).toBe(200);
  });

  it('rotate refuses (permanently) to overwrite a version someone else wrote since its first attempt', async () => {
    const role = await newRole();
    const req = request(role.name);
    const rotation = fingerprint(req.idempotencyKey);
    // As if the first attempt saw no secret yet and crashed; then someone else writes version 1.
    await capture(
      h.db,
      { provider: 'openbao', identityId: role.name, action: `rotate:${rotation}`, caseId: req.caseId },
      async () => ({ baseVersion: 0, rotation }),
    );
    await must('POST', `secret/data/cordon/${role.name}`, { data: { note: 'not cordon' } });
    const err = await connector.actions.rotate!.run(req).then(
      () => expect.unreachable(),
      (e) => e as ApplicationFailure,
    );
    expect(err).toMatchObject({ type: 'OpenBaoConflict', nonRetryable: true });
    expect((await must('GET', `secret/metadata/cordon/${role.name}`)).data.current_version).toBe(1);
    // Nothing was destroyed: the workload's secret-id still works.
    expect((await login(role.roleId, role.secretId)).status).toBe(200);
  });

  it('a second case on the same identity undoes to what it found, not to the first case, and revokes what exists now', async () => {
    const role = await newRole();
    const entityId = (await snap(connector, role.name)).entity!.id;
    // Case 1 restricts, isolates and rotates, and closes "contained": never undone.
    for (const action of ['restrict', 'isolate', 'rotate'] as const)
      await connector.actions[action]!.run(request(role.name, 'case-1'));
    const case1 = (await must('GET', `secret/data/cordon/${role.name}`)).data.data;
    // The operator hands it back partly: own entity policies, but left disabled; and a new secret-id.
    await must('POST', `identity/entity/id/${entityId}`, { policies: ['app-read', 'extra'] });
    const operatorSecret = (await must('POST', `auth/approle/role/${role.name}/secret-id`, {})).data
      .secret_id as string;
    const denyPolicy = (await must('GET', `sys/policies/acl/cordon-deny-${role.name}`)).data.policy;
    const start2 = await connector.snapshot(role.name);
    expect(start2).toMatchObject({ entity: { disabled: true, policies: ['app-read', 'extra'] } });

    // Case 2 restricts and isolates, then a false positive undoes both.
    expect((await connector.actions.restrict!.run(request(role.name, 'case-2'))).changed).toBe(true);
    expect((await connector.actions.isolate!.run(request(role.name, 'case-2'))).changed).toBe(false);
    expect(await connector.verify(role.name, 'restrict', 'case-2')).toBe(true);
    await connector.actions.isolate!.undo!(request(role.name, 'case-2'));
    await connector.actions.restrict!.undo!(request(role.name, 'case-2'));
    const { data } = await must('GET', `identity/entity/id/${entityId}`);
    expect({ policies: data.policies, disabled: data.disabled }).toEqual({
      policies: ['app-read', 'extra'],
      disabled: true,
    });
    expect((await must('GET', `sys/policies/acl/cordon-deny-${role.name}`)).data.policy).toBe(denyPolicy);
    expect(restorable(await connector.snapshot(role.name))).toEqual(restorable(start2));

    // Revoke in case 2 acts on what exists now: case 1's rotated secret-id, the operator's and the token.
    const revoke = await connector.actions.revoke!.run(request(role.name, 'case-2'));
    expect(revoke.detail).toMatchObject({
      secretIdsDestroyed: expect.arrayContaining([fingerprint(case1.secret_id_accessor)]),
      tokensRevoked: [expect.stringMatching(/^sha256:/)],
    });
    expect(revoke.detail.secretIdsDestroyed).toHaveLength(2);
    expect(await connector.verify(role.name, 'revoke', 'case-2')).toBe(true);
    await must('POST', `identity/entity/id/${entityId}`, { disabled: false });
    expect((await login(case1.role_id, case1.secret_id)).status).toBe(400);
    expect((await login(role.roleId, operatorSecret)).status).toBe(400);
  });

  it('looks tokens up concurrently, at most 16 at a time', async () => {
    const role = await newRole();
    for (let i = 0; i < 40; i++) await must('POST', 'auth/token/create', { policies: ['default'], ttl: '10m' });
    const realFetch = globalThis.fetch;
    let inFlight = 0;
    let most = 0;
    let lookups = 0;
    const spy = vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
      if (!String(input).includes('auth/token/lookup-accessor')) return realFetch(input, init);
      lookups += 1;
      most = Math.max(most, ++inFlight);
      try {
        return await realFetch(input, init);
      } finally {
        inFlight -= 1;
      }
    });
    try {
      expect((await snap(connector, role.name)).observed.tokens).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
    expect(lookups).toBeGreaterThan(40);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(16);
  });

  it('maps errors: unknown identity and missing capability are permanent, an unreachable server is retryable', async () => {
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => expect.unreachable(),
        (err) => err as ApplicationFailure,
      );

    const unknown = await failure(connector.actions.isolate!.run(request('no-such-role')));
    expect(unknown).toBeInstanceOf(ApplicationFailure);
    expect(unknown).toMatchObject({ type: 'OpenBaoUnknownIdentity', nonRetryable: true });
    expect(unknown.message).toContain('no-such-role');

    const weakToken = (await must('POST', 'auth/token/create-orphan', { policies: ['default'], ttl: '10m' })).auth
      .client_token;
    const weak = createOpenBaoConnector(h.db, { ...settings(), token: weakToken });
    const denied = await failure(weak.snapshot('svc-1'));
    expect(denied).toMatchObject({ type: 'OpenBaoPermissionDenied', nonRetryable: true });
    expect(denied.message).toMatch(/403/);
    expect(denied.message).not.toContain(weakToken);

    const down = createOpenBaoConnector(h.db, { ...settings(), address: `http://127.0.0.1:${await freePort()}` });
    const unreachable = await failure(down.actions.revoke!.run(request('svc-1')));
    expect(unreachable).toMatchObject({ type: 'OpenBaoUnavailable', nonRetryable: false });
    expect(unreachable.message).toMatch(/unreachable/);
    expect(unreachable.message).not.toContain(connectorToken);
  });
});

describe('containment workflow on OpenBao', () => {
  const contain = async (environment: string) => {
    const role = await newRole();
    h.inventory.add(environment, { provider: 'openbao', id: role.name });
    await h.send(makeAlert({ identity: { provider: 'openbao', id: role.name } }));
    return { role, handle: h.env.client.workflow.getHandle(`contain:openbao:${role.name}`) };
  };

  it('gated: approved isolate cuts the identity off; a false positive gives it back, working', async () => {
    const connector = createOpenBaoConnector(h.db, settings());
    const role = await newRole();
    const before = await connector.snapshot(role.name);
    h.inventory.add('gated', { provider: 'openbao', id: role.name });
    await h.send(makeAlert({ identity: { provider: 'openbao', id: role.name } }));
    const handle = h.env.client.workflow.getHandle(`contain:openbao:${role.name}`);

    const requestId = await pendingRequestId(handle, 'isolate');
    expect(await readAppSecret(role.token)).toBe(403); // restricted already
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'approve', requestId, approver: 'alice', reason: 'leaked in CI logs' }],
    });
    const waiting = await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(waiting.applied.map((a) => [a.action, a.verified])).toEqual([
      ['restrict', true],
      ['isolate', true],
    ]);
    expect(await readAppSecret(role.token)).toBe(403);
    expect((await login(role.roleId, role.secretId)).status).toBe(403);

    await handle.signal(falsePositiveSignal, { by: 'alice', reason: 'scheduled job' });
    expect((await handle.result()).outcome).toBe('false-positive');
    expect(await readAppSecret(role.token)).toBe(200);
    const relogin = await login(role.roleId, role.secretId);
    expect(await readAppSecret(relogin.token!)).toBe(200);
    await must('POST', 'auth/token/revoke', { token: relogin.token });
    expect(await connector.snapshot(role.name)).toEqual(before);
    expect((await handle.query(auditQuery)).find((e) => e.event === 'identity.restored')).toBeDefined();
  });

  it('auto: restrict, revoke and rotate; old credentials are dead, the rotated one is only in KV', async () => {
    const { role, handle } = await contain('auto');
    const status = await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));
    expect(status.applied.map((a) => [a.action, a.verified])).toEqual([
      ['restrict', true],
      ['revoke', true],
      ['rotate', true],
    ]);
    expect(await readAppSecret(role.token)).toBe(403);
    expect((await login(role.roleId, role.secretId)).status).toBe(400);

    const stored = (await must('GET', `secret/data/cordon/${role.name}`)).data.data;
    const history = await decodedHistoryText(handle);
    expect(history).not.toContain(stored.secret_id);
    expect(history).toContain(fingerprint(stored.secret_id));
    // The rotated secret-id authenticates, but the identity stays restricted (deny policy).
    const fresh = await login(stored.role_id, stored.secret_id);
    expect(fresh.status).toBe(200);
    expect(await readAppSecret(fresh.token!)).toBe(403);
  });
});
