import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capture, capturedFor, capturesStartingWith, releaseCapture } from '../activities/connectors/captures';
import { openDatabase, type Database } from '../src/db';

let db: Database;
beforeAll(async () => {
  db = await openDatabase({});
});
afterAll(() => db?.close());

describe('connector captures', () => {
  const key = { provider: 'openbao', identityId: 'ci-deployer', action: 'restrict', caseId: 'case-1' };

  it('keep the state from before the first attempt: a retry after a partial change does not re-capture', async () => {
    let reads = 0;
    const first = await capture(db, key, async () => ({ policies: ['deploy', 'read-kv'], read: ++reads }));
    const retried = await capture(db, key, async () => ({ policies: ['cordon-deny'], read: ++reads }));
    expect(first).toEqual({ policies: ['deploy', 'read-kv'], read: 1 });
    expect(retried).toEqual(first);
    expect(reads).toBe(1);
  });

  it('are per provider, identity, action and case, and gone once released', async () => {
    expect(await capturedFor(db, { ...key, action: 'isolate' })).toBeUndefined();
    expect(await capturedFor(db, { ...key, provider: 'postgres' })).toBeUndefined();
    // A later case on the same identity captures afresh: it never undoes to an earlier case's state.
    expect(await capture(db, { ...key, caseId: 'case-2' }, async () => ({ policies: ['cordon-deny'] }))).toEqual({
      policies: ['cordon-deny'],
    });
    expect(await capturedFor(db, key)).toEqual({ policies: ['deploy', 'read-kv'], read: 1 });
    await releaseCapture(db, key);
    expect(await capturedFor(db, key)).toBeUndefined();
    expect(await capture(db, key, async () => ({ policies: ['after-undo'] }))).toEqual({ policies: ['after-undo'] });
  });

  it('list the captures of one identity by action prefix, oldest first', async () => {
    const who = { provider: 'aws-iam', identityId: 'svc-listed', caseId: 'case-1' };
    await capture(db, { ...who, action: 'rotated:key-1' }, async () => 'AKIA1');
    await capture(db, { ...who, action: 'rotated:key-2' }, async () => 'AKIA2');
    await capture(db, { ...who, action: 'rotate:key-1' }, async () => 'not this');
    await capture(db, { ...who, identityId: 'someone-else', action: 'rotated:key-3' }, async () => 'nor this');
    await capture(db, { ...who, caseId: 'case-0', action: 'rotated:key-0' }, async () => 'nor an earlier case');
    expect(await capturesStartingWith(db, who, 'rotated:')).toEqual(['AKIA1', 'AKIA2']);
  });

  it('keep one capture when two attempts race', async () => {
    const raced = { ...key, identityId: 'raced' };
    const [a, b] = await Promise.all([
      capture(db, raced, async () => 'first'),
      capture(db, raced, async () => 'second'),
    ]);
    expect(a).toBe(b);
  });
});
