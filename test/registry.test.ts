import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONNECTOR_FACTORIES } from '../activities/connectors/registry';
import type { ConnectorSettings } from '../activities/connectors/types';
import type { Database } from '../src/db';
import { jsonSchemas } from '../src/schemas';

describe('the connector registry', () => {
  it('gives every action metadata and either an undo or an irreversible mark', () => {
    const unusedDb = {} as Database;
    // Settings for every system; factories must not connect, so nothing needs to listen.
    const settings: ConnectorSettings = {
      openbao: { address: 'http://127.0.0.1:1', token: 'unused', kvMount: 'secret' },
      aws: {
        region: 'us-east-1',
        endpoint: 'http://127.0.0.1:1',
        rotationSecretPrefix: 'cordon/',
        credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      },
      postgres: { url: 'postgres://127.0.0.1:1/none' },
      kubernetes: { server: 'https://127.0.0.1:1', token: 'unused' },
      github: { apiUrl: 'http://127.0.0.1:1', token: 'unused' },
    };
    for (const [name, make] of Object.entries(CONNECTOR_FACTORIES)) {
      const connector = make({ db: unusedDb, settings });
      if (!connector) throw new Error(`${name} was not created from full settings`);
      expect(connector.name).toBe(name);
      for (const action of Object.values(connector.actions)) {
        expect(action.description, `${name}:${action.name}`).not.toBe('');
        expect(action.permissions.length, `${name}:${action.name}`).toBeGreaterThan(0);
        expect(typeof action.undo === 'function', `${name}:${action.name} undo`).toBe(action.reversible);
      }
    }
  });
});

describe('exported JSON Schemas', () => {
  it('match the zod schemas (run `npm run schema` after changing them)', () => {
    for (const [name, schema] of Object.entries(jsonSchemas())) {
      const committed = JSON.parse(readFileSync(path.join(__dirname, '..', 'schema', `${name}.schema.json`), 'utf8'));
      expect(committed, name).toEqual(schema);
    }
  });
});
