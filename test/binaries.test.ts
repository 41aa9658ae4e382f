import { describe, expect, it } from 'vitest';
import { resolveTemporalCli, resolveTestServer, TOOLS_DIR } from '../src/temporal/binaries';

describe('Temporal binary resolution', () => {
  it('prefers an explicit env var path', () => {
    expect(resolveTemporalCli({ CORDON_TEMPORAL_CLI: process.execPath })).toEqual({
      source: 'env',
      path: process.execPath,
    });
  });

  it('refuses an env var path that does not exist instead of falling through silently', () => {
    expect(() => resolveTestServer({ CORDON_TEMPORAL_TEST_SERVER: '/nonexistent/temporal-test-server' })).toThrow(
      /CORDON_TEMPORAL_TEST_SERVER.*does not exist/,
    );
  });

  it('uses the project-local install that the setup step made', () => {
    expect(resolveTemporalCli({})).toEqual({ source: 'project', path: `${TOOLS_DIR}/bin/temporal` });
    expect(resolveTestServer({})).toEqual({ source: 'project', path: `${TOOLS_DIR}/bin/temporal-test-server` });
  });
});
