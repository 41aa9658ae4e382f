import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, connectorSettings, loadConfig } from '../src/config';
import {
  BASE_MEMORY_MIB,
  casesThatFit,
  cgroupMemoryLimitMiB,
  MIB_PER_CACHED_CASE,
  workflowCacheSize,
} from '../worker/cacheSize';
import { ApproverDirectory } from '../src/approvers/authenticate';
import { groupsFor } from '../src/domain/decisions';
import { loadPolicy } from '../src/policy/load';
import { runTs } from './support/processes';
import { CONFIG_DIR } from './support/stack';

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

  it('refuses to serve a network address without a sources file: alerts there must be authenticated', async () => {
    const result = await runTs('src/main.ts', [], { CORDON_HTTP_HOST: '0.0.0.0' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'invalid CORDON_SOURCES_FILE: required when CORDON_HTTP_HOST (0.0.0.0) is not loopback',
    );
  });

  it('exits 2 naming the field of a broken sources file, without echoing it', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'cordon-config-')), 'sources.yaml');
    writeFileSync(file, 'sources:\n  - name: siem\n    tokens: ["hunter2"]\n');
    const result = await runTs('src/main.ts', [], { CORDON_SOURCES_FILE: file });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('sources.0.tokens.0: must be sha256:<64 hex digits>');
    expect(result.stderr).not.toContain('hunter2');
  });

  it('registers a connector only when all of its settings are present, and never echoes its secrets', () => {
    expect(connectorSettings(loadConfig({}))).toEqual({});
    expect(connectorSettings(loadConfig({ CORDON_OPENBAO_ADDR: 'http://127.0.0.1:8200' }))).toEqual({});
    expect(
      connectorSettings(
        loadConfig({
          CORDON_OPENBAO_ADDR: 'http://127.0.0.1:8200',
          CORDON_OPENBAO_TOKEN: 's.token',
          CORDON_AWS_REGION: 'eu-west-1',
          CORDON_PG_CONNECTOR_URL: 'postgres://cordon:pw@db:5432/app',
          CORDON_GITHUB_TOKEN: 'ghs_token',
        }),
      ),
    ).toEqual({
      openbao: { address: 'http://127.0.0.1:8200', token: 's.token', kvMount: 'secret' },
      aws: {
        region: 'eu-west-1',
        endpoint: undefined,
        rotationSecretPrefix: 'cordon/rotated/',
        quarantinePolicy: false,
      },
      postgres: { url: 'postgres://cordon:pw@db:5432/app' },
      github: { apiUrl: 'https://api.github.com', token: 'ghs_token' },
    });
    expect(
      connectorSettings(
        loadConfig({ CORDON_GITHUB_API_URL: 'https://ghe.example.com/api/v3', CORDON_GITHUB_TOKEN: 't' }),
      ),
    ).toEqual({ github: { apiUrl: 'https://ghe.example.com/api/v3', token: 't' } });
    expect(() => loadConfig({ CORDON_GITHUB_API_URL: 'ftp://ghe.example.com' })).toThrow(/CORDON_GITHUB_API_URL/);
    expect(
      connectorSettings(loadConfig({ CORDON_SIMULATED_FAULT_RATE: '0.3', CORDON_SIMULATED_LATENCY_MS: '250' })),
    ).toEqual({
      simulated: { faultRate: 0.3, latencyMs: 250 },
    });
    expect(() => loadConfig({ CORDON_SIMULATED_FAULT_RATE: '1.5' })).toThrow(/CORDON_SIMULATED_FAULT_RATE/);
    const quarantining = loadConfig({ CORDON_AWS_REGION: 'eu-west-1', CORDON_AWS_QUARANTINE_POLICY: 'true' });
    expect(connectorSettings(quarantining).aws?.quarantinePolicy).toBe(true);
    expect(() => loadConfig({ CORDON_AWS_QUARANTINE_POLICY: 'yes' })).toThrow(/CORDON_AWS_QUARANTINE_POLICY/);
    try {
      loadConfig({ CORDON_PG_CONNECTOR_URL: 'mysql://cordon:hunter2@db/app' });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).message).toContain('CORDON_PG_CONNECTOR_URL');
      expect((err as ConfigError).message).not.toContain('hunter2');
    }
  });

  it('registers the kubernetes connector from its variables, or in a pod from the pod itself; a half setting is refused', () => {
    expect(
      connectorSettings(
        loadConfig({
          CORDON_KUBE_API_URL: 'https://kube.example:6443',
          CORDON_KUBE_TOKEN_FILE: '/run/cordon/token',
          CORDON_KUBE_CA_FILE: '/run/cordon/ca.crt',
          KUBERNETES_SERVICE_HOST: '10.96.0.1',
        }),
      ).kubernetes,
    ).toEqual({ server: 'https://kube.example:6443', tokenFile: '/run/cordon/token', caFile: '/run/cordon/ca.crt' });
    expect(
      connectorSettings(loadConfig({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '8443' })),
    ).toEqual({
      kubernetes: {
        server: 'https://[fd00::1]:8443',
        tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
        caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
      },
    });
    expect(() => loadConfig({ CORDON_KUBE_TOKEN_FILE: '/run/cordon/token' })).toThrow(
      /CORDON_KUBE_API_URL: is required/,
    );
    try {
      loadConfig({ CORDON_KUBE_API_URL: 'ftp://kube', CORDON_KUBE_TOKEN: 'hunter2-token' });
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).message).toContain('CORDON_KUBE_API_URL');
      expect((err as ConfigError).message).not.toContain('hunter2-token');
    }
    expect(() => loadConfig({ CORDON_KUBE_API_URL: 'https://kube.example' })).toThrow(/CORDON_KUBE_TOKEN_FILE/);
  });

  it('sizes the case cache from the memory budget, the cgroup limit or 1 GiB; an explicit size wins', () => {
    const size = (env: Record<string, string>, cgroup?: number) => workflowCacheSize(loadConfig(env), cgroup);
    expect(size({})).toEqual({
      maxCachedWorkflows: casesThatFit(1024),
      memoryMiB: 1024,
      from: 'default memory budget',
    });
    expect(size({}, 2048)).toMatchObject({ maxCachedWorkflows: casesThatFit(2048), from: 'cgroup memory limit' });
    expect(size({ CORDON_WORKER_MEMORY_MIB: '768' }, 2048)).toMatchObject({ memoryMiB: 768 });
    expect(size({ CORDON_MAX_CACHED_WORKFLOWS: '200', CORDON_WORKER_MEMORY_MIB: '768' })).toEqual({
      maxCachedWorkflows: 200,
      from: 'CORDON_MAX_CACHED_WORKFLOWS',
    });
    // Cached cases fill three quarters of what the budget leaves beside the service's footprint.
    expect(casesThatFit(BASE_MEMORY_MIB + 600)).toBe(Math.floor((600 * 0.75) / MIB_PER_CACHED_CASE));
    expect(casesThatFit(512)).toBeGreaterThan(0);
    expect(() => loadConfig({ CORDON_WORKER_MEMORY_MIB: '100' })).toThrow(/CORDON_WORKER_MEMORY_MIB/);
    expect(() => loadConfig({ CORDON_MAX_CACHED_WORKFLOWS: '-1' })).toThrow(/CORDON_MAX_CACHED_WORKFLOWS/);
  });

  it('reads the cgroup v2 limit, the v1 limit, and no limit as none', () => {
    const files = (map: Record<string, string>) => (file: string) => {
      if (!(file in map)) throw new Error('ENOENT');
      return map[file];
    };
    expect(cgroupMemoryLimitMiB(files({ '/sys/fs/cgroup/memory.max': '1073741824\n' }))).toBe(1024);
    expect(cgroupMemoryLimitMiB(files({ '/sys/fs/cgroup/memory.max': 'max\n' }))).toBeUndefined();
    expect(cgroupMemoryLimitMiB(files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '536870912' }))).toBe(512);
    expect(
      cgroupMemoryLimitMiB(files({ '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712' })),
    ).toBeUndefined();
  });
});

describe('the shipped decision settings', () => {
  it('the embedded default believes named deciders; the production policy counts only verified ones, and differs in nothing else', () => {
    const embedded = loadPolicy(path.join(CONFIG_DIR, 'policy.yaml'));
    const production = loadPolicy(path.join(CONFIG_DIR, 'policy.production.yaml'));
    expect(embedded.decisions.mode).toBe('claimed');
    expect(production.decisions.mode).toBe('verified');
    expect({ ...production, decisions: undefined }).toEqual({ ...embedded, decisions: undefined });
    expect(groupsFor(production, 'release')).not.toContain('secops');
    expect(groupsFor(production, 'engage')).toContain('secops');
  });

  it('the example approvers file loads, and a broken one names its field', () => {
    expect(() => ApproverDirectory.load(path.join(CONFIG_DIR, 'approvers.example.yaml'))).not.toThrow();
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'cordon-config-')), 'approvers.yaml');
    writeFileSync(file, 'approvers:\n  - name: alice\n    tokens: ["hunter2"]\n');
    expect(() => ApproverDirectory.load(file)).toThrow(/approvers\.0\.tokens\.0: must be sha256/);
  });
});
