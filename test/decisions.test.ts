// Verified mode, end to end on the dev server: a decision counts only when its person proved who
// they are (an approver token, an OIDC ID token, a signed Slack click), through the intake's
// decision API; a name in a raw signal or Update is an audited, refused claim. Every control
// input (false positive, pause, the kill switch) is held to the same rules.
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listActions } from '../activities/connectors/simulated/state';
import { approvalRefusal } from '../activities/guard';
import { ApproverDirectory } from '../src/approvers/authenticate';
import { recordDecision, takeDecision } from '../src/decisions/store';
import { actionDigestOf } from '../src/domain/decisions';
import { newToken } from '../src/intake/sources';
import type { ActionStep } from '../src/domain/case';
import {
  approveSignal,
  auditQuery,
  falsePositiveSignal,
  killSwitchReleasedSignal,
  statusQuery,
  type ContainmentStatus,
} from '../workflows/definitions';
import { useHarness } from './support/harness';
import { runTs } from './support/processes';
import { CONFIG_DIR } from './support/stack';
import { startIntake } from './support/intake';
import { pendingRequestId, testPolicyWith, waitForStatus } from './support/scenario';

const policyFile = testPolicyWith((p) => (p.decisions = { mode: 'verified', killSwitch: { release: ['leads'] } }));
const h = useHarness({ policyFile });

const ISSUER = 'https://idp.cordon.test';
const SLACK_SECRET = 'slack-signing-secret-for-tests';
const tokens = {
  alice: newToken(),
  bob: newToken(),
  carol: newToken(),
  mallory: newToken(),
  lead: newToken(),
  slow: newToken(),
};
let intake: Awaited<ReturnType<typeof startIntake>>;
let signIdToken: (
  claims: Record<string, unknown>,
  options?: { audience?: string; expiresIn?: string },
) => Promise<string>;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const dir = mkdtempSync(path.join(tmpdir(), 'cordon-approvers-'));
  const jwksFile = path.join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'test', alg: 'ES256' }] }));
  signIdToken = (claims, { audience = 'cordon', expiresIn = '5m' } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'test' })
      .setIssuer(ISSUER)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(privateKey);
  const approvers = new ApproverDirectory({
    approvers: [
      { name: 'alice', tokens: [tokens.alice.hash], perMinute: 30 },
      { name: 'bob', tokens: [tokens.bob.hash], slack: 'U0BOB', perMinute: 30 },
      { name: 'carol', tokens: [tokens.carol.hash], perMinute: 30 },
      { name: 'mallory', tokens: [tokens.mallory.hash], perMinute: 30 },
      { name: 'lead-1', tokens: [tokens.lead.hash], perMinute: 30 },
      // Not in any group: its decisions are refused (403) until its 2 a minute are spent (429).
      { name: 'slow', tokens: [tokens.slow.hash], perMinute: 2 },
    ],
    oidc: { issuer: ISSUER, audience: 'cordon', jwks: { file: jwksFile }, claim: 'email', clockTolerance: 5 },
  });
  intake = await startIntake(h.env.client, h.taskQueue, {
    db: h.db,
    approvers,
    policyFile,
    slackSigningSecret: SLACK_SECRET,
    slackTeamId: 'T0CORDON',
  });
});
afterAll(() => intake?.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const decide = (workflowId: string, body: object, token?: string) =>
  intake.post(`/v1/cases/${encodeURIComponent(workflowId)}/decisions`, body, token ? bearer(token) : {});
const control = (workflowId: string, body: object, token?: string) =>
  intake.post(`/v1/cases/${encodeURIComponent(workflowId)}/controls`, body, token ? bearer(token) : {});
// An Update's refusal as its caller reads it: the reason the case gave.
const refusalOf = (update: Promise<unknown>) =>
  update.then(
    () => 'accepted',
    (err) => String(err.cause?.message),
  );
const status = (handle: { query: (q: typeof statusQuery) => Promise<ContainmentStatus> }) => handle.query(statusQuery);

describe('verified mode: approvals', () => {
  it("a raw signal in a listed approver's name does not count; the same person through the API does", async () => {
    const { id, handle } = await h.contain('gated');
    const requestId = await pendingRequestId(handle, 'isolate');
    await handle.signal(approveSignal, { requestId, approver: 'alice', reason: 'forged' });
    const refused = await waitForStatus(handle, (s) => expect(s.rejectedInputs.at(-1)?.code).toBe('unverified'));
    expect(refused.pendingRequest?.approvals).toEqual([]);
    expect(await listActions(h.db, id)).toEqual(['restrict']);
    const claim = (await handle.query(auditQuery)).find((e) => e.event === 'decision.unverified');
    expect(claim).toMatchObject({ actor: 'alice', result: { requestId, channel: 'signal', verified: false } });
    // A raw Update is a claim too: refused at once, non-retryable, and audited.
    const raw: unknown = await handle
      .executeUpdate('decide', { args: [{ decision: 'approve', requestId, approver: 'bob' }] })
      .catch((err) => err.cause);
    expect(raw).toMatchObject({
      type: 'DecisionRefused',
      nonRetryable: true,
      details: ['unverified'],
      message: expect.stringMatching(/unverified claim by "bob"/),
    });
    expect((await status(handle)).rejectedInputs.at(-1)).toMatchObject({ code: 'unverified' });

    const answer = await decide(
      handle.workflowId,
      { requestId, decision: 'approve', reason: 'checked the logs' },
      tokens.alice.token,
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ outcome: 'approved', approver: 'alice', approvals: 1, required: 1 });
    expect(answer.body.actionDigest).toBe(refused.pendingRequest!.actionDigest);
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect(await listActions(h.db, id)).toEqual(['restrict', 'isolate']);
    const approved = (await handle.query(auditQuery)).find((e) => e.event === 'decision.approved');
    expect(approved).toMatchObject({ actor: 'alice', result: { channel: 'api', verified: true, method: 'token' } });
    // The isolate step delivered everything queued before it: approvers heard of the two refused
    // claims once, so a flood of forged signals is no flood of messages.
    const told = (await handle.query(auditQuery)).filter((e) => e.event === 'notified.decision-refused');
    expect(told).toHaveLength(1);
  });

  it('two of N: a token and an OIDC ID token make two people; the same one twice does not', async () => {
    const { id, handle } = await h.contain('two-of-n');
    const requestId = await pendingRequestId(handle, 'restrict');
    expect((await decide(handle.workflowId, { requestId, decision: 'approve' }, tokens.bob.token)).body).toMatchObject({
      outcome: 'counted',
      approvals: 1,
      required: 2,
    });
    const again = await decide(handle.workflowId, { requestId, decision: 'approve' }, tokens.bob.token);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'repeat' });
    const idToken = await signIdToken({ email: 'alice', email_verified: true, sub: 'alice-sub' });
    const second = await decide(handle.workflowId, { requestId, decision: 'approve' }, idToken);
    expect(second.body).toMatchObject({ outcome: 'approved', approver: 'alice', approvals: 2 });
    await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));
    expect(await listActions(h.db, id)).toEqual(['restrict']);
    const methods = (await handle.query(auditQuery))
      .filter((e) => e.event === 'decision.approved')
      .map((e) => [e.actor, (e.result as { method: string }).method]);
    expect(methods).toEqual([
      ['bob', 'token'],
      ['alice', 'oidc'],
    ]);
  });

  it('answers every refusal with its status and field, and changes nothing', async () => {
    const a = await h.contain('gated');
    const b = await h.contain('gated');
    const requestA = await pendingRequestId(a.handle, 'isolate');
    const requestB = await pendingRequestId(b.handle, 'isolate');
    expect(requestA).not.toBe(requestB); // request ids are unique across cases
    const wf = a.handle.workflowId;

    const none = await decide(wf, { requestId: requestA, decision: 'approve' });
    expect([none.status, none.headers.get('www-authenticate'), none.body.problems[0].field]).toEqual([
      401,
      'Bearer',
      'authorization',
    ]);
    expect((await decide(wf, { requestId: requestA, decision: 'approve' }, 'cdn_not-a-token')).status).toBe(401);
    const wrongAudience = await signIdToken({ email: 'alice', email_verified: true }, { audience: 'someone-else' });
    expect(
      (await decide(wf, { requestId: requestA, decision: 'approve' }, wrongAudience)).body.problems[0].message,
    ).toMatch(/aud/);
    const expired = await signIdToken({ email: 'alice', email_verified: true }, { expiresIn: '-1h' });
    expect((await decide(wf, { requestId: requestA, decision: 'approve' }, expired)).status).toBe(401);
    const unverifiedEmail = await signIdToken({ email: 'alice', email_verified: false });
    expect((await decide(wf, { requestId: requestA, decision: 'approve' }, unverifiedEmail)).status).toBe(401);
    const undeclared = await signIdToken({ email: 'dana', email_verified: true });
    const stranger = await decide(wf, { requestId: requestA, decision: 'approve' }, undeclared);
    expect([stranger.status, stranger.body.problems[0].message]).toEqual([401, 'dana is not a declared approver']);

    const outsider = await decide(wf, { requestId: requestA, decision: 'approve' }, tokens.mallory.token);
    expect([outsider.status, outsider.body.code]).toEqual([403, 'forbidden']);
    const owner = await decide(wf, { requestId: requestA, decision: 'approve' }, tokens.carol.token);
    expect([owner.status, owner.body.code]).toEqual([403, 'self-approval']);
    const otherCase = await decide(wf, { requestId: requestB, decision: 'approve' }, tokens.alice.token);
    expect([otherCase.status, otherCase.body.code, otherCase.body.problems[0].field]).toEqual([
      409,
      'stale',
      'requestId',
    ]);
    const otherAction = await decide(
      wf,
      { requestId: requestA, decision: 'approve', actionDigest: 'sha256:00' },
      tokens.alice.token,
    );
    expect([otherAction.status, otherAction.body.code]).toEqual([409, 'stale']);
    const badBody = await decide(wf, { requestId: requestA, decision: 'maybe' }, tokens.alice.token);
    expect([badBody.status, badBody.body.problems[0].field]).toEqual([422, 'decision']);

    const s = await status(a.handle);
    expect(s.pendingRequest?.approvals).toEqual([]);
    expect(s.rejectedInputs.map((r) => r.code)).toEqual(['forbidden', 'self-approval', 'stale', 'stale']);
    expect(await listActions(h.db, a.id)).toEqual(['restrict']);
    const refused = (await a.handle.query(auditQuery)).filter((e) => e.event === 'decision.rejected');
    expect(refused.map((e) => e.actor)).toEqual(['mallory', 'carol', 'alice', 'alice']);

    // A deny by a proven approver ends the other case's request.
    expect(
      (await decide(b.handle.workflowId, { requestId: requestB, decision: 'deny' }, tokens.bob.token)).body.outcome,
    ).toBe('denied');
    const late = await decide(b.handle.workflowId, { requestId: requestB, decision: 'approve' }, tokens.alice.token);
    expect(late.status).toBe(409);
  });

  it('limits each approver to their decisions per minute', async () => {
    const { handle } = await h.contain('gated');
    const requestId = await pendingRequestId(handle, 'isolate');
    const answers = [];
    for (let i = 0; i < 3; i++)
      answers.push(await decide(handle.workflowId, { requestId, decision: 'approve' }, tokens.slow.token));
    expect(answers.map((a) => a.status)).toEqual([403, 403, 429]);
    expect(Number(answers[2].headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe("verified mode: the worker's guard", () => {
  it('refuses an approval with no authenticated decision on record, or for another action', async () => {
    const target = { provider: 'simulated', identityId: 'guarded', caseId: randomUUID() };
    const workflowId = 'contain:simulated:guarded';
    const key = { ...target, stage: 'revoke', action: 'revoke', policyDigest: 'sha256:policy' };
    const actionDigest = actionDigestOf(key);
    const step = {
      target,
      stage: 'revoke',
      action: 'revoke',
      policyDigest: key.policyDigest,
      authority: { by: 'approvers', requestId: 'revoke-1-x', actionDigest, approvers: ['alice'] },
    } as unknown as ActionStep;
    expect(await approvalRefusal(h.db.query, step, true, workflowId)).toMatch(/no authenticated approval by alice/);
    expect(await approvalRefusal(h.db.query, step, false, workflowId)).toBeUndefined();
    const claim = { workflowId, kind: 'approve', requestId: 'revoke-1-x', actionDigest };
    const id = await recordDecision(h.db, { ...claim, actor: 'alice', method: 'token' });
    // Recorded by the intake, but not yet counted by the case: not enough.
    expect(await approvalRefusal(h.db.query, step, true, workflowId)).toMatch(/no authenticated approval by alice/);
    expect(await takeDecision(h.db, { id, ...claim }, 'the case step')).toMatchObject({ actor: 'alice' });
    expect(await approvalRefusal(h.db.query, step, true, workflowId)).toBeUndefined();
    // Counted once: the same decision cannot be taken again by another step or case.
    expect(await takeDecision(h.db, { id, ...claim }, 'another step')).toBeUndefined();
    expect(await takeDecision(h.db, { id, ...claim }, 'the case step')).toMatchObject({ actor: 'alice' });
    expect(await approvalRefusal(h.db.query, step, true, 'contain:simulated:other')).toMatch(
      /no authenticated approval/,
    );
    const forOther = { ...step, authority: { ...step.authority, actionDigest: 'sha256:other' } } as ActionStep;
    expect(await approvalRefusal(h.db.query, forOther, false, workflowId)).toMatch(/names action sha256:other/);
  });
});

describe('verified mode: false positives, pause and the kill switch', () => {
  it('a forged false positive undoes nothing; the owner cannot; an approver through the API can', async () => {
    const { id, handle } = await h.contain('gated');
    await pendingRequestId(handle, 'isolate');
    await handle.signal(falsePositiveSignal, { by: 'alice', reason: 'forged' });
    await waitForStatus(handle, (s) =>
      expect(s.rejectedInputs.at(-1)).toMatchObject({ code: 'unverified', by: 'alice' }),
    );
    const owner = await control(handle.workflowId, { control: 'false-positive' }, tokens.carol.token);
    expect([owner.status, owner.body.code]).toEqual([403, 'self-approval']);
    expect((await control(handle.workflowId, { control: 'false-positive' }, tokens.mallory.token)).status).toBe(403);
    expect((await status(handle)).outcome).toBe('active');
    expect(await listActions(h.db, id)).toEqual(['restrict']);

    const declared = await control(
      handle.workflowId,
      { control: 'false-positive', reason: 'a load test' },
      tokens.bob.token,
    );
    expect(declared.body).toMatchObject({ accepted: true, control: 'false-positive', by: 'bob' });
    await waitForStatus(handle, (s) => expect(s.outcome).toBe('false-positive'));
    expect(await listActions(h.db, id)).toContain('undo:restrict');
    expect((await handle.query(auditQuery)).find((e) => e.event === 'false-positive.declared')).toMatchObject({
      actor: 'bob',
      result: { verified: true, method: 'token' },
    });

    // The decision's id is in the history for anyone to read; it counts once, for its case only.
    const replayed = { control: 'false-positive', by: 'bob', decisionId: declared.body.decisionId };
    const other = await h.contain('gated');
    await pendingRequestId(other.handle, 'isolate');
    expect(await refusalOf(other.handle.executeUpdate('control', { args: [replayed] }))).toMatch(/is not on record/);
    expect((await status(other.handle)).outcome).toBe('active');
  });

  it('a case opened before verified mode was turned on cannot be undone by a claim: the undo step refuses it', async () => {
    const verified = readFileSync(policyFile, 'utf8');
    writeFileSync(policyFile, verified.replace('mode: verified', 'mode: claimed'));
    let id: string, handle: Awaited<ReturnType<typeof h.contain>>['handle'];
    try {
      ({ id, handle } = await h.contain('gated'));
      await pendingRequestId(handle, 'isolate');
    } finally {
      writeFileSync(policyFile, verified);
    }
    // The case planned under claimed mode and believes the name; the worker no longer does.
    await handle.signal(falsePositiveSignal, { by: 'alice', reason: 'a claim' });
    const held = await waitForStatus(handle, (s) => expect(s.outcome).toBe('needs-attention'));
    expect(held.attention).toMatch(/the false-positive that asked for this undo is not an authenticated decision/);
    expect(await listActions(h.db, id)).toEqual(['restrict']);
  });

  it('pause: a claim is refused; an approver pauses and resumes through the API', async () => {
    const { handle } = await h.contain('gated');
    await pendingRequestId(handle, 'isolate');
    expect(await refusalOf(handle.executeUpdate('control', { args: [{ control: 'pause', by: 'alice' }] }))).toMatch(
      /unverified/,
    );
    expect(
      (await control(handle.workflowId, { control: 'pause', reason: 'change freeze' }, tokens.alice.token)).status,
    ).toBe(200);
    expect((await status(handle)).paused).toBe(true);
    expect((await control(handle.workflowId, { control: 'resume' }, tokens.alice.token)).status).toBe(200);
    expect((await status(handle)).paused).toBe(false);
  });

  it('the CLI will not move the switch on the store in a name it cannot check', async () => {
    const production = path.join(CONFIG_DIR, 'policy.production.yaml');
    const env = { CORDON_POLICY_FILE: production, CORDON_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'cordon-ks-')) };
    const claimed = await runTs('bin/cordon.js', ['kill-switch', 'release', '--as', 'erin@example.com'], env);
    expect([claimed.code, claimed.stderr]).toEqual([2, expect.stringContaining('verified: give --token')]);
    const unknown = await runTs('bin/cordon.js', ['kill-switch', 'release', '--token', 'cdn_forged'], env);
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('unknown bearer token')]);
  });

  it('the kill switch: a name without credentials is refused; engaging and releasing need their groups', async () => {
    const move = (body: object, token?: string) => intake.post('/v1/kill-switch', body, token ? bearer(token) : {});
    expect((await move({ action: 'engage', by: 'alice' })).status).toBe(401);
    expect((await move({ action: 'engage' }, tokens.mallory.token)).status).toBe(403);
    expect((await move({ action: 'engage', reason: 'drill' }, tokens.alice.token)).body.engaged).toBe(true);
    // Releasing is for leads only in this policy.
    const refused = await move({ action: 'release', by: 'lead-1' }, tokens.alice.token);
    expect([refused.status, refused.body.problems[0].message]).toEqual([
      403,
      expect.stringMatching(/alice is not in the groups that may release/),
    ]);
    expect((await move({ action: 'release', reason: 'drill over' }, tokens.lead.token)).body.engaged).toBe(false);
    const moves = await h.db.query<{ entry: { event: string; actor: string; result: unknown } }>(
      "SELECT entry FROM audit_entries WHERE workflow_id = 'cordon:kill-switch' ORDER BY seq",
    );
    expect(moves.rows.map((r) => [r.entry.event, r.entry.actor, r.entry.result])).toEqual([
      ['kill-switch.engaged', 'alice', { verified: true, method: 'token' }],
      ['kill-switch.released', 'lead-1', { verified: true, method: 'token' }],
    ]);
  });
  it('a forged release signal wakes a held case, which finds the switch still engaged and acts on nothing', async () => {
    expect((await intake.post('/v1/kill-switch', { action: 'engage' }, bearer(tokens.alice.token))).status).toBe(200);
    const { id, handle } = await h.contain('auto');
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('kill-switch'));
    const attempts = async () =>
      (await handle.fetchHistory()).events!.filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'actOnIdentity',
      ).length;
    expect(await attempts()).toBe(1);
    await handle.signal(killSwitchReleasedSignal);
    // The case tries again at once, and the action activity, reading the store, holds it again.
    await vi.waitFor(async () => expect(await attempts()).toBe(2), { timeout: 20_000 });
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('kill-switch'));
    expect(await listActions(h.db, id)).toEqual([]);
    expect((await intake.post('/v1/kill-switch', { action: 'release' }, bearer(tokens.lead.token))).status).toBe(200);
    await waitForStatus(handle, (s) => expect(s.outcome).toBe('contained'));
  });
});

describe('Slack callbacks', () => {
  const signed = (body: string, at = Math.floor(Date.now() / 1000), secret = SLACK_SECRET) => ({
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(at),
    'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${at}:${body}`).digest('hex')}`,
  });
  const click = (user: string, value: object, actionId = 'cordon_approve', team = 'T0CORDON') =>
    `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: user }, team: { id: team }, actions: [{ action_id: actionId, value: JSON.stringify(value) }] }))}`;

  it('a signed click by a mapped Slack user approves; a replay, a stale or unsigned one, or an unmapped user does not', async () => {
    const { id, handle } = await h.contain('gated');
    const requestId = await pendingRequestId(handle, 'isolate');
    const { actionDigest } = (await status(handle)).pendingRequest!;
    const value = { workflowId: handle.workflowId, requestId, actionDigest };

    const unsigned = click('U0BOB', value);
    expect(
      (await intake.post('/v1/slack/actions', unsigned, { 'content-type': 'application/x-www-form-urlencoded' }))
        .status,
    ).toBe(401);
    expect(
      (await intake.post('/v1/slack/actions', unsigned, signed(unsigned, Math.floor(Date.now() / 1000) - 600))).status,
    ).toBe(401);
    expect((await intake.post('/v1/slack/actions', unsigned, signed(unsigned, undefined, 'wrong-secret'))).status).toBe(
      401,
    );
    const stranger = click('U0NOBODY', value);
    expect((await intake.post('/v1/slack/actions', stranger, signed(stranger))).status).toBe(403);
    const otherWorkspace = click('U0BOB', value, 'cordon_approve', 'T0ELSEWHERE');
    expect((await intake.post('/v1/slack/actions', otherWorkspace, signed(otherWorkspace))).status).toBe(403);
    expect(await listActions(h.db, id)).toEqual(['restrict']);

    const headers = signed(unsigned);
    const approved = await intake.post('/v1/slack/actions', unsigned, headers);
    expect([approved.status, approved.body.text]).toEqual([200, expect.stringMatching(/bob: approve .* approved/)]);
    expect((await intake.post('/v1/slack/actions', unsigned, headers)).status).toBe(409);
    await waitForStatus(handle, (s) => expect(s.waitingFor).toBe('verify-window'));
    expect((await handle.query(auditQuery)).find((e) => e.event === 'decision.approved')).toMatchObject({
      actor: 'bob',
      result: { verified: true, method: 'slack' },
    });
  });
});
