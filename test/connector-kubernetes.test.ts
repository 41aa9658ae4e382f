// The kubernetes connector against a real kube-apiserver + etcd on loopback (RBAC, a static token
// file, service-account keys made at start). Fixtures are set up as the admin (system:masters);
// the connector runs as the user `cordon`, bound to a ClusterRole built from the permissions its
// actions declare, which is also the README's ClusterRole. The API server caches authenticated
// tokens for about 10 s, so checks that a token stopped (or started again) working poll.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createKubernetesConnector, declaredPermissions } from '../activities/connectors/kubernetes';
import { clusterRoleRules } from '../activities/connectors/kubernetes/permissions';
import type { ActionName, Connector } from '../activities/connectors/types';
import { fingerprint } from '../src/digest';
import { buildIntake } from '../src/intake/server';
import { createLogger } from '../src/log';
import { auditQuery, decideUpdate, falsePositiveSignal } from '../workflows/definitions';
import { useHarness } from './support/harness';
import { decodedHistoryText } from './support/history';
import { grantCordon, startKubeApiServer, type KubeApiServer } from '../src/sandbox/kube';
import { freePort, ROOT } from './support/processes';
import { eventually, pendingRequestId, waitForStatus } from './support/scenario';
import { failureOf } from './support/captured';
import { RBAC } from '../activities/connectors/kubernetes/bindings';

let kube: KubeApiServer;
let tokenFile: string;

const post = (path: string, body: unknown) => kube.admin.call('POST', path, { body }).then((r) => r.body);
const get = (path: string) => kube.admin.find(path);
const ns = (namespace: string) => `/api/v1/namespaces/${namespace}`;

/** The fixtures every test shares: the API server, Cordon's ClusterRole and binding, namespaces, roles. */
async function startCluster() {
  kube = await startKubeApiServer();
  tokenFile = path.join(mkdtempSync(path.join(tmpdir(), 'cordon-kube-token-')), 'token');
  writeFileSync(tokenFile, `${kube.cordonToken}\n`);
  await grantCordon(kube.admin);
  for (const name of ['ci', 'apps']) await post('/api/v1/namespaces', { metadata: { name } });
  await post(`${RBAC}/clusterroles`, {
    metadata: { name: 'node-reader' },
    rules: [
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list'] },
      { nonResourceURLs: ['/metrics'], verbs: ['get'] },
    ],
  });
  await post(`${RBAC}/clusterroles`, {
    metadata: { name: 'configmap-reader' },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
  });
}

// When the API server cannot start (kube-apiserver not built, say), every test fails with the
// reason: vitest would report the tests of a file whose beforeAll throws as skipped.
let unavailable: unknown;
beforeAll(() => startCluster().catch((err: unknown) => void (unavailable = err)), 240_000);
beforeEach(() => {
  if (unavailable) throw unavailable;
});
// Registered before the harness: vitest runs afterAll hooks last-in first-out.
afterAll(() => kube?.stop());

// Without a server (see `unavailable`) the worker gets settings that never connect.
const settings = () =>
  kube ? { server: kube.url, caFile: kube.caFile, tokenFile } : { server: 'https://127.0.0.1:1', token: 'none' };
const logLines: string[] = [];
const logger = createLogger(
  'debug',
  new Writable({ write: (chunk, _encoding, done) => (logLines.push(String(chunk)), done()) }),
);
const h = useHarness({ connectors: () => ({ kubernetes: settings() }), logger });

let counter = 0;
let made: Connector | undefined;
const k8s = () => (made ??= createKubernetesConnector(h.db, settings()));
const CASE = 'case-1';
const act = (name: ActionName, identityId: string, caseId = CASE, idempotencyKey = `test-${++counter}`) =>
  k8s().actions[name]!.run({ identityId, idempotencyKey, caseId });
const undo = (name: 'restrict' | 'isolate', identityId: string, caseId = CASE) =>
  k8s().actions[name]!.undo!({ identityId, idempotencyKey: `undo-${++counter}`, caseId });
const verify = (identityId: string, action: ActionName, caseId = CASE) => k8s().verify(identityId, action, caseId);

const rbacUser = (name: string) => ({ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name });
const saSubject = (name: string, namespace?: string) => ({
  kind: 'ServiceAccount',
  name,
  ...(namespace ? { namespace } : {}),
});

/**
 * A service account `ci/app-N` with metadata, bound (among other subjects) by a RoleBinding in
 * its namespace (an empty-namespace subject), a RoleBinding in `apps`, a ClusterRoleBinding whose
 * only subject it is, and a binding naming its user name; plus a bystander account in the same binding.
 */
async function newAccount(extra: Record<string, unknown> = {}) {
  const name = `app-${++counter}`;
  const id = `ci/${name}`;
  await post(`${ns('ci')}/serviceaccounts`, {
    metadata: { name, labels: { team: 'payments' }, annotations: { owner: 'carol' } },
    imagePullSecrets: [{ name: 'registry' }],
    ...extra,
  });
  await post(`${ns('ci')}/serviceaccounts`, { metadata: { name: `${name}-bystander` } });
  await post(`${RBAC}/namespaces/ci/roles`, {
    metadata: { name: `pods-${name}` },
    rules: [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list'] }],
  });
  const roleRef = (kind: string, role: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name: role });
  const bindings = {
    [`${RBAC}/namespaces/ci/rolebindings`]: {
      metadata: { name: `pods-${name}`, labels: { app: name } },
      roleRef: roleRef('Role', `pods-${name}`),
      subjects: [saSubject(`${name}-bystander`, 'ci'), saSubject(name), rbacUser('alice')],
    },
    [`${RBAC}/namespaces/apps/rolebindings`]: {
      metadata: { name: `config-${name}` },
      roleRef: roleRef('ClusterRole', 'configmap-reader'),
      subjects: [rbacUser('bob'), saSubject(name, 'ci')],
    },
    [`${RBAC}/clusterrolebindings`]: {
      metadata: { name: `nodes-${name}`, annotations: { why: 'node status' } },
      roleRef: roleRef('ClusterRole', 'node-reader'),
      subjects: [saSubject(name, 'ci'), rbacUser(`system:serviceaccount:ci:${name}`)],
    },
  };
  for (const [where, body] of Object.entries(bindings)) await post(where, body);
  return { id, name };
}

/** The bindings the fixture made, as the API serves them now (subjects and all). */
const bindingsOf = async (name: string) => ({
  pods: await get(`${RBAC}/namespaces/ci/rolebindings/pods-${name}`),
  config: await get(`${RBAC}/namespaces/apps/rolebindings/config-${name}`),
  nodes: await get(`${RBAC}/clusterrolebindings/nodes-${name}`),
});
const comparable = (b: any) =>
  b && {
    metadata: { ...b.metadata, resourceVersion: undefined, managedFields: undefined },
    roleRef: b.roleRef,
    subjects: b.subjects,
  };

/** What the authorizer lets `user` do (SubjectAccessReview as the admin). */
async function can(user: string, attributes: Record<string, unknown>): Promise<boolean> {
  const groups = ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'];
  const review = await post('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: { user, groups, ...attributes },
  });
  return review.status.allowed === true;
}
const canList = (account: string, resource = 'pods', namespace = 'ci') =>
  can(`system:serviceaccount:ci:${account}`, { resourceAttributes: { namespace, verb: 'list', resource } });

/** TokenReview as the admin: the user the token authenticates as, or null. */
async function whoIs(token: string): Promise<{ username: string; uid: string } | null> {
  const review = await post('/apis/authentication.k8s.io/v1/tokenreviews', {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    spec: { token },
  });
  return review.status.authenticated ? review.status.user : null;
}
/** Polls until the token does (or does not) authenticate: the API server caches answers ~10 s. */
const authenticates = (token: string, expected: boolean) =>
  eventually(async () => expect((await whoIs(token)) !== null).toBe(expected), { timeout: 60_000 });

/** A bound token of the account (TokenRequest as the admin). */
const boundToken = async (name: string) =>
  (await post(`${ns('ci')}/serviceaccounts/${name}/token`, { spec: { expirationSeconds: 3600 } })).status
    .token as string;

/**
 * A long-lived token Secret of the account, as the (absent) token controller would have made it:
 * a legacy JWT signed with the service-account key, naming the Secret and the account's uid.
 */
async function legacyTokenSecret(name: string, secretName = `${name}-token`): Promise<string> {
  const uid = (await get(`${ns('ci')}/serviceaccounts/${name}`)).metadata.uid;
  const token = await new SignJWT({
    'kubernetes.io/serviceaccount/namespace': 'ci',
    'kubernetes.io/serviceaccount/secret.name': secretName,
    'kubernetes.io/serviceaccount/service-account.name': name,
    'kubernetes.io/serviceaccount/service-account.uid': uid,
  })
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuer('kubernetes/serviceaccount')
    .setSubject(`system:serviceaccount:ci:${name}`)
    .sign(kube.signingKey);
  const data = { token: Buffer.from(token).toString('base64'), namespace: Buffer.from('ci').toString('base64') };
  const annotations = { 'kubernetes.io/service-account.name': name, 'kubernetes.io/service-account.uid': uid };
  const manifest = { metadata: { name: secretName, labels: { rotated: 'never' }, annotations }, data };
  await post(`${ns('ci')}/secrets`, {
    ...manifest,
    // As `kubectl apply` leaves it: the whole manifest, data included, in an annotation.
    metadata: { ...manifest.metadata, annotations: { ...annotations, [LAST_APPLIED]: JSON.stringify(manifest) } },
    type: 'kubernetes.io/service-account-token',
  });
  return token;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The failure a call raised. */
const capturedText = async (identityId: string) =>
  JSON.stringify(
    (await h.db.query('SELECT captured FROM connector_captures WHERE identity_id = $1', [identityId])).rows,
  );
const restorable = ({ observed: _, ...rest }: Record<string, unknown>) => rest;

describe('kubernetes connector on a real API server', () => {
  it("declares its permissions as RBAC rules, the README's ClusterRole is exactly those, and Cordon runs with only them", () => {
    for (const action of Object.values(k8s().actions)) {
      expect(action!.permissions.length).toBeGreaterThan(0);
      expect(action!.reversible).toBe(typeof action!.undo === 'function');
    }
    expect([k8s().actions.revoke!.reversible, k8s().actions.rotate!.reversible]).toEqual([false, false]);
    const rules = clusterRoleRules(declaredPermissions());
    expect(JSON.stringify(rules)).not.toContain('*');
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const block = /```yaml\n(kind: ClusterRole\n[\s\S]*?)```/.exec(readme);
    expect(block, "the README's Kubernetes ClusterRole").not.toBeNull();
    expect(parse(block![1]).rules).toEqual(rules);
  });

  it('restrict: the account leaves every binding it is named in, the authorizer follows, undo puts the bindings back exactly', async () => {
    const { id, name } = await newAccount();
    const before = await bindingsOf(name);
    const snapshot = await k8s().snapshot(id);
    expect(snapshot).toMatchObject({
      bindings: [
        { binding: `ClusterRoleBinding/nodes-${name}`, subjects: [{ index: 0 }, { index: 1 }] },
        { binding: `RoleBinding/apps/config-${name}`, subjects: [{ index: 1 }] },
        { binding: `RoleBinding/ci/pods-${name}`, subjects: [{ index: 1, subject: saSubject(name) }] },
      ],
    });
    expect(await canList(name)).toBe(true);
    expect(await verify(id, 'restrict')).toBe(false);

    const run = await act('restrict', id);
    expect(run).toMatchObject({ changed: true });
    expect(run.detail.bindings).toHaveLength(3);
    expect(await verify(id, 'restrict')).toBe(true);
    const user = `system:serviceaccount:ci:${name}`;
    expect(await canList(name)).toBe(false);
    expect(await can(user, { resourceAttributes: { namespace: 'apps', verb: 'get', resource: 'configmaps' } })).toBe(
      false,
    );
    expect(await can(user, { nonResourceAttributes: { path: '/metrics', verb: 'get' } })).toBe(false);
    expect(await canList(`${name}-bystander`)).toBe(true);
    const during = await bindingsOf(name);
    expect(during.pods.subjects).toEqual([saSubject(`${name}-bystander`, 'ci'), rbacUser('alice')]);
    expect(during.nodes.subjects ?? []).toEqual([]); // the binding stays, empty, for the undo
    expect(await act('restrict', id)).toMatchObject({ changed: false, detail: { already: true } });

    expect(await undo('restrict', id)).toMatchObject({ changed: true });
    const after = await bindingsOf(name);
    for (const key of ['pods', 'config', 'nodes'] as const)
      expect(comparable(after[key])).toEqual(comparable(before[key]));
    expect(await k8s().snapshot(id)).toEqual(snapshot);
    await eventually(async () => expect(await canList(name)).toBe(true));
    expect(await verify(id, 'restrict')).toBe(false);
    expect(await undo('restrict', id)).toMatchObject({ changed: false, detail: { already: true } });
  });

  it('restrict: a repeat covers a binding made since; undo reports a binding deleted meanwhile instead of remaking it', async () => {
    const { id, name } = await newAccount();
    await act('restrict', id);
    await post(`${RBAC}/namespaces/ci/rolebindings`, {
      metadata: { name: `late-${name}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `pods-${name}` },
      subjects: [saSubject(name)],
    });
    expect(await verify(id, 'restrict')).toBe(false);
    expect(await act('restrict', id)).toMatchObject({
      changed: true,
      detail: { bindings: [`RoleBinding/ci/late-${name}`] },
    });
    expect(await verify(id, 'restrict')).toBe(true);

    await kube.admin.call('DELETE', `${RBAC}/clusterrolebindings/nodes-${name}`);
    const undone = await undo('restrict', id);
    expect(undone.detail).toMatchObject({
      restored: expect.arrayContaining([`RoleBinding/ci/late-${name}`, `RoleBinding/ci/pods-${name}`]),
      notRestored: [{ binding: `ClusterRoleBinding/nodes-${name}`, reason: 'deleted since restrict' }],
    });
    expect(await get(`${RBAC}/clusterrolebindings/nodes-${name}`)).toBeUndefined();
    expect((await get(`${RBAC}/namespaces/ci/rolebindings/late-${name}`)).subjects).toEqual([saSubject(name)]);
  });

  it('isolate: automount off, token Secrets moved to Opaque copies (their token stops working); undo restores both exactly', async () => {
    const { id, name } = await newAccount();
    const token = await legacyTokenSecret(name);
    expect(await whoIs(token)).toMatchObject({ username: `system:serviceaccount:ci:${name}` });
    const secretBefore = await get(`${ns('ci')}/secrets/${name}-token`);
    const snapshot = await k8s().snapshot(id);
    expect(snapshot).toMatchObject({
      serviceAccount: { automountServiceAccountToken: null },
      tokenSecrets: [{ name: `${name}-token`, token: fingerprint(token) }],
    });
    expect(JSON.stringify(snapshot)).not.toContain(secretBefore.data.token); // a fingerprint of the annotation only

    const run = await act('isolate', id);
    expect(run).toMatchObject({
      changed: true,
      detail: {
        automountBefore: null,
        quarantined: [{ secret: `${name}-token`, quarantine: `cordon-quarantine-${name}-token` }],
      },
    });
    expect(await verify(id, 'isolate')).toBe(true);
    expect((await get(`${ns('ci')}/serviceaccounts/${name}`)).automountServiceAccountToken).toBe(false);
    expect(await get(`${ns('ci')}/secrets/${name}-token`)).toBeUndefined();
    expect((await get(`${ns('ci')}/secrets/cordon-quarantine-${name}-token`)).type).toBe('Opaque');
    await authenticates(token, false);
    // The token lives only in the cluster: not in the result, not in Cordon's captures.
    expect(JSON.stringify(run)).not.toContain(token);
    expect(await capturedText(id)).not.toContain(token);
    expect(await capturedText(id)).not.toContain(secretBefore.data.token);
    expect(await act('isolate', id)).toMatchObject({ changed: false, detail: { already: true } });

    expect(await undo('isolate', id)).toMatchObject({ changed: true, detail: { restored: [`${name}-token`] } });
    const secretAfter = await get(`${ns('ci')}/secrets/${name}-token`);
    for (const field of ['type', 'data'] as const) expect(secretAfter[field]).toEqual(secretBefore[field]);
    expect(secretAfter.metadata.labels).toEqual(secretBefore.metadata.labels);
    expect(secretAfter.metadata.annotations).toEqual(secretBefore.metadata.annotations);
    expect(await get(`${ns('ci')}/secrets/cordon-quarantine-${name}-token`)).toBeUndefined();
    expect('automountServiceAccountToken' in (await get(`${ns('ci')}/serviceaccounts/${name}`))).toBe(false);
    expect(restorable(await k8s().snapshot(id))).toEqual(restorable(snapshot));
    await authenticates(token, true);
    expect(await verify(id, 'isolate')).toBe(false);
    expect(await undo('isolate', id)).toMatchObject({ changed: false, detail: { already: true } });
  });

  it('isolate restores an explicit automount as it was, and an undo after a run that never took effect changes nothing', async () => {
    const { id, name } = await newAccount({ automountServiceAccountToken: true });
    expect(await undo('isolate', id, 'case-never')).toMatchObject({ changed: false, detail: { already: true } });
    await act('isolate', id, 'case-2');
    expect((await get(`${ns('ci')}/serviceaccounts/${name}`)).automountServiceAccountToken).toBe(false);
    await undo('isolate', id, 'case-2');
    expect((await get(`${ns('ci')}/serviceaccounts/${name}`)).automountServiceAccountToken).toBe(true);
  });

  it('revoke: a token minted before stops authenticating; the account is back with its metadata under a new uid', async () => {
    const { id, name } = await newAccount({ automountServiceAccountToken: false, secrets: [{ name: 'old-token' }] });
    const account = await get(`${ns('ci')}/serviceaccounts/${name}`);
    const token = await boundToken(name);
    expect(await whoIs(token)).toMatchObject({ uid: account.metadata.uid });
    expect(await verify(id, 'revoke')).toBe(false);

    const run = await act('revoke', id);
    expect(run).toMatchObject({ changed: true, detail: { revokedUid: account.metadata.uid } });
    expect(await verify(id, 'revoke')).toBe(true);
    const now = await get(`${ns('ci')}/serviceaccounts/${name}`);
    expect(now.metadata.uid).not.toBe(account.metadata.uid);
    const kept = (a: any) => ({
      labels: a.metadata.labels,
      annotations: a.metadata.annotations,
      automount: a.automountServiceAccountToken,
      secrets: a.secrets,
      imagePullSecrets: a.imagePullSecrets,
    });
    expect(kept(now)).toEqual(kept(account));
    await authenticates(token, false);
    expect(await whoIs(await boundToken(name))).toMatchObject({ uid: now.metadata.uid });
    expect(await act('revoke', id)).toMatchObject({ changed: false, detail: { already: true, uid: now.metadata.uid } });
  });

  it('rotate: a token bound to the Secret it is written to; only its fingerprint comes back; the next rotation ends it', async () => {
    const { id, name } = await newAccount();
    expect(await verify(id, 'rotate')).toBe(false);
    const key = `rotate-${name}`;
    const run = await act('rotate', id, CASE, key);
    const secret = await get(`${ns('ci')}/secrets/cordon-rotated-${name}`);
    const token = Buffer.from(secret.data.token, 'base64').toString('utf8');
    expect(run).toMatchObject({
      changed: true,
      detail: {
        secret: `ci/cordon-rotated-${name}`,
        tokenFingerprint: fingerprint(token),
        boundToSecretUid: secret.metadata.uid,
      },
    });
    expect(JSON.stringify(run)).not.toContain(token);
    expect(await capturedText(id)).not.toContain(token);
    expect(await whoIs(token)).toMatchObject({ username: `system:serviceaccount:ci:${name}` });
    expect(await verify(id, 'rotate')).toBe(true);
    expect(await verify(id, 'rotate', 'another-case')).toBe(false);
    expect(await act('rotate', id, CASE, key)).toMatchObject({
      changed: false,
      detail: { already: true, tokenFingerprint: fingerprint(token) },
    });

    const next = await act('rotate', id);
    expect(next.changed).toBe(true);
    const replaced = await get(`${ns('ci')}/secrets/cordon-rotated-${name}`);
    expect(replaced.metadata.uid).not.toBe(secret.metadata.uid);
    await authenticates(token, false);
    expect(await verify(id, 'rotate')).toBe(true);
  });

  it('each action works with its own declared permissions alone (run as an account bound to only those)', async () => {
    await post('/api/v1/namespaces', { metadata: { name: `cordon-${++counter}` } });
    const home = `cordon-${counter}`;
    for (const action of ['restrict', 'isolate', 'revoke', 'rotate'] as const) {
      const declared = k8s().actions[action]!.permissions;
      await post(`${RBAC}/clusterroles`, {
        metadata: { name: `${home}-${action}` },
        rules: clusterRoleRules(declared),
      });
      await post(`${ns(home)}/serviceaccounts`, { metadata: { name: action } });
      await post(`${RBAC}/clusterrolebindings`, {
        metadata: { name: `${home}-${action}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${home}-${action}` },
        subjects: [saSubject(action, home)],
      });
      const user = `system:serviceaccount:${home}:${action}`;
      const attributes = { resourceAttributes: { namespace: 'ci', verb: 'get', resource: 'serviceaccounts' } };
      await eventually(async () => expect(await can(user, attributes)).toBe(true));
      const token = (await post(`${ns(home)}/serviceaccounts/${action}/token`, { spec: {} })).status.token as string;
      const only = createKubernetesConnector(h.db, { server: kube.url, caFile: kube.caFile, token });
      const { id, name } = await newAccount();
      if (action === 'isolate') await legacyTokenSecret(name);
      const request = { identityId: id, idempotencyKey: `only-${action}`, caseId: `only-${action}` };
      expect((await only.actions[action]!.run(request)).changed, action).toBe(true);
      if (only.actions[action]!.undo) expect((await only.actions[action]!.undo!(request)).changed, action).toBe(true);
    }
  });

  it('maps errors: unknown or malformed account and a missing permission are permanent, an unreachable server is retryable', async () => {
    const unknown = await failureOf(() => act('isolate', 'ci/nobody-here'));
    expect(unknown).toMatchObject({ type: 'KubernetesUnknownIdentity', nonRetryable: true });
    expect(unknown.message).toContain('no such service account "ci/nobody-here"');
    expect(await failureOf(() => act('revoke', 'not-namespaced'))).toMatchObject({ nonRetryable: true });

    const { id, name } = await newAccount();
    const weakToken = await boundToken(name); // an account with no right to read service accounts
    const weak = createKubernetesConnector(h.db, { ...settings(), tokenFile: undefined, token: weakToken });
    const denied = await failureOf(() =>
      weak.actions.restrict!.run({ identityId: id, idempotencyKey: 'weak', caseId: CASE }),
    );
    expect(denied).toMatchObject({ type: 'KubernetesPermissionDenied', nonRetryable: true });
    expect(denied.message).toContain('the permission "serviceaccounts: get"');
    expect(denied.message).not.toContain(weakToken);

    const down = createKubernetesConnector(h.db, { ...settings(), server: `https://127.0.0.1:${await freePort()}` });
    const unreachable = await failureOf(() => down.snapshot(id));
    expect(unreachable).toMatchObject({ type: 'KubernetesUnavailable', nonRetryable: false });
    expect(unreachable.message).toMatch(/unreachable/);
    expect(unreachable.message).not.toContain(kube.cordonToken);
  });
});

describe('containment workflow on Kubernetes', () => {
  let intake: ReturnType<typeof buildIntake>;
  let intakeUrl: string;
  beforeAll(async () => {
    intake = buildIntake({ client: h.env.client, taskQueue: h.taskQueue, logger });
    intakeUrl = await intake.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => intake?.close());

  it('a Falco alert on ci/deploy-bot through the intake: restrict, revoke and rotate for real; old tokens dead, the new one only in its Secret', async () => {
    await post(`${ns('ci')}/serviceaccounts`, { metadata: { name: 'deploy-bot' } });
    await post(`${RBAC}/namespaces/ci/rolebindings`, {
      metadata: { name: 'deploy-bot' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'configmap-reader' },
      subjects: [saSubject('deploy-bot')],
    });
    const leaked = await boundToken('deploy-bot');
    expect(await whoIs(leaked)).toMatchObject({ username: 'system:serviceaccount:ci:deploy-bot' });
    h.inventory.add('auto', { provider: 'kubernetes', id: 'ci/deploy-bot' });

    expect(await canList('deploy-bot', 'configmaps')).toBe(true);

    const sent = await fetch(`${intakeUrl}/v1/alerts/falco`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: readFileSync(path.join(ROOT, 'examples', 'alerts', 'falco-k8s-audit.json')),
    });
    expect(sent.status).toBe(200);
    const handle = h.env.client.workflow.getHandle('contain:kubernetes:ci/deploy-bot');
    const status = await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'), 60_000);
    expect(status.applied.map((a) => [a.action, a.verified])).toEqual([
      ['restrict', true],
      ['revoke', true],
      ['rotate', true],
    ]);
    expect(await canList('deploy-bot', 'configmaps')).toBe(false);
    await authenticates(leaked, false);
    const stored = await get(`${ns('ci')}/secrets/cordon-rotated-deploy-bot`);
    const token = Buffer.from(stored.data.token, 'base64').toString('utf8');
    expect(await whoIs(token)).toMatchObject({ username: 'system:serviceaccount:ci:deploy-bot' });
    expect(status.applied.find((a) => a.action === 'rotate')?.detail).toMatchObject({
      tokenFingerprint: fingerprint(token),
    });
    expect(await decodedHistoryText(handle)).not.toContain(token);
    expect(JSON.stringify(await handle.query(auditQuery))).not.toContain(token);
    expect(logLines.join('')).toContain(handle.workflowId); // the capture works: the intake logged this alert
    expect(logLines.join('')).not.toContain(token);
  });

  it('gated: restrict and an approved isolate, then a false positive; the account is as it was, token working', async () => {
    const { id, name } = await newAccount();
    const token = await legacyTokenSecret(name);
    expect(await whoIs(token)).not.toBeNull();
    const initial = await k8s().snapshot(id);
    h.inventory.add('gated', { provider: 'kubernetes', id });
    await h.send({
      id: `gated-${name}`,
      source: 'test',
      kind: 'token_abuse',
      severity: 'high',
      confidence: 0.9,
      identity: { provider: 'kubernetes', id },
    });
    const handle = h.env.client.workflow.getHandle(`contain:kubernetes:${id}`);

    const requestId = await pendingRequestId(handle, 'isolate');
    expect(await canList(name)).toBe(false);
    await handle.executeUpdate(decideUpdate, {
      args: [{ decision: 'approve', requestId, approver: 'alice', reason: 'token in CI logs' }],
    });
    const waiting = await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(waiting.applied.map((a) => [a.action, a.verified])).toEqual([
      ['restrict', true],
      ['isolate', true],
    ]);
    await authenticates(token, false);

    await handle.signal(falsePositiveSignal, { by: 'alice', reason: 'a sanctioned deploy' });
    expect((await handle.result()).outcome).toBe('false-positive');
    expect(restorable(await k8s().snapshot(id))).toEqual(restorable(initial));
    const restored = (await handle.query(auditQuery)).find((e) => e.event === 'identity.restored');
    expect(restored).toMatchObject({ actor: 'alice', result: { restored: true } });
    expect(await decodedHistoryText(handle)).not.toContain(Buffer.from(token).toString('base64'));
    await authenticates(token, true);
    await eventually(async () => expect(await canList(name)).toBe(true));
  });
});
