import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';
import { runTs } from './support/processes';

describe('configuration', () => {
  it('uses the documented defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      TEMPORAL_ADDRESS: undefined,
      TEMPORAL_NAMESPACE: 'default',
      CORDON_TASK_QUEUE: 'cordon',
      CORDON_DEV_SERVER_PORT: 7233,
      CORDON_UI_PORT: 8233,
      CORDON_HTTP_PORT: 8080,
      DATABASE_URL: undefined,
    });
    expect(config.CORDON_DATA_DIR).toMatch(/\/\.cordon$/);
  });

  it('names every invalid variable and the problem', () => {
    const attempt = () =>
      loadConfig({ CORDON_HTTP_PORT: '99999', TEMPORAL_ADDRESS: 'no-port', CORDON_LOG_LEVEL: 'loud' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (err) {
      const variables = (err as ConfigError).problems.map((p) => p.variable).sort();
      expect(variables).toEqual(['CORDON_HTTP_PORT', 'CORDON_LOG_LEVEL', 'TEMPORAL_ADDRESS']);
      expect((err as ConfigError).message).toContain('"99999"');
    }
  });

  it('never echoes a DATABASE_URL, which may hold a password', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://admin:hunter2@db/cordon' })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
    );
  });

  it('treats an empty TEMPORAL_ADDRESS as unset (embedded server)', () => {
    expect(loadConfig({ TEMPORAL_ADDRESS: '' }).TEMPORAL_ADDRESS).toBeUndefined();
  });

  it('makes `npm start` exit 2 naming the variable, before starting anything', async () => {
    const result = await runTs('src/main.ts', [], { CORDON_UI_PORT: 'eighty' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('CORDON_UI_PORT');
    expect(result.stdout).toBe('');
  });
});
