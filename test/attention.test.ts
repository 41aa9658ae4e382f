// Why a case needs attention, in categories the metric can label: every reason the workflow writes
// (workflows/stages.ts, rollback.ts, containIdentity.ts) lands in its own category, never free text.
import { describe, expect, it } from 'vitest';
import { identityRefusal } from '../activities/guard';
import { attentionCategory } from '../src/domain/attention';
import { unresolvedReason } from '../src/domain/unresolved';

describe('attention categories', () => {
  it.each([
    [unresolvedReason('svc-x'), 'unresolved-identity'],
    [unresolvedReason('svc-x', ['aws-iam:a', 'openbao:b']), 'unresolved-identity'],
    [unresolvedReason('svc-x', ['aws-iam:a']), 'unresolved-identity'],
    ['restrict failed: no connector registered for provider "aws-iam"', 'no-connector'],
    ['undo failed: restrict (boom); isolate (503)', 'undo-failed'],
    ['the identity does not match its state before the case', 'undo-failed'],
    ['revoke refused by the worker: the plan names action sha256:1, not this one', 'refused'],
    ['isolate failed: activity StartToClose timeout', 'timeout'],
    ['rotate failed: permission denied', 'action-failed'],
    ['restrict failed: restrict reported success, but the identity system does not show its effect', 'action-failed'],
    ['the case cannot open: relation "accepted_policies" does not exist', 'open-failed'],
    ['something new', 'other'],
  ])('%s → %s', (reason, category) => {
    expect(attentionCategory(reason)).toBe(category);
  });
});

describe('the guard', () => {
  it('refuses every step on an unresolved principal, even in its own case', () => {
    const target = { provider: 'unresolved', identityId: 'svc-x', caseId: 'run-1' };
    expect(identityRefusal('contain:unresolved:svc-x', target)).toBe(
      'no identity system is known for principal svc-x: nothing acts on it',
    );
    expect(identityRefusal('contain:simulated:svc-x', { ...target, provider: 'simulated' })).toBeUndefined();
  });
});
