// Cordon's processes on the cluster: workers and intakes, each its own `src/main.ts` with a role,
// sharing one namespace, one audit database, one payload key and one audit signing key.
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../net';
import type { ClusterDatabases } from './roles';
import { nodeArgsFor } from '../projectRoot';
import { launch, waitUntilReady, type Launched } from '../sandbox/launch';

export type CordonRole = 'worker' | 'intake';

/** What every Cordon process of the cluster shares. */
export interface SharedCordonSettings {
  temporalAddress: string;
  tls: { ca: string; cert: string; key: string };
  tokenFile: string;
  databases: ClusterDatabases;
  payloadKeysFile: string;
  signingKeyFile: string;
  /** Where each process keeps its own data dir and log. */
  dir: string;
  /** More settings (policy, connectors, sources), from the caller's environment. */
  env: NodeJS.ProcessEnv;
  /** Values never to show in an error (the database password). */
  secrets: string[];
}

/** A Cordon process: its role, where it answers, and how to stop or restart it. */
export class CordonProcess {
  proc!: Launched;
  private constructor(
    readonly name: string,
    readonly role: CordonRole,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logFile: string,
    /** Blanked in its output, should it end up in an error. */
    private readonly secrets: string[],
  ) {}

  static async create(name: string, role: CordonRole, shared: SharedCordonSettings): Promise<CordonProcess> {
    const port = await freePort();
    const dataDir = path.join(shared.dir, name);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const env: NodeJS.ProcessEnv = {
      ...shared.env,
      CORDON_ROLE: role,
      TEMPORAL_ADDRESS: shared.temporalAddress,
      TEMPORAL_TLS_CA_FILE: shared.tls.ca,
      TEMPORAL_TLS_CERT_FILE: shared.tls.cert,
      TEMPORAL_TLS_KEY_FILE: shared.tls.key,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
      TEMPORAL_API_KEY_FILE: shared.tokenFile,
      DATABASE_URL: shared.databases.cordonUrl,
      // Each process migrates and grants as the owner at start-up, then works as the service role.
      CORDON_MIGRATION_DATABASE_URL: shared.databases.cordonOwnerUrl,
      CORDON_DATA_DIR: dataDir,
      CORDON_PAYLOAD_KEYS_FILE: shared.payloadKeysFile,
      CORDON_AUDIT_SIGNING_KEY_FILE: shared.signingKeyFile,
      // An intake answers HTTP on it; a worker serves its Prometheus metrics there.
      [role === 'intake' ? 'CORDON_HTTP_PORT' : 'CORDON_WORKER_METRICS_PORT']: String(port),
      CORDON_LOG_LEVEL: shared.env.CORDON_LOG_LEVEL ?? 'info',
    };
    return new CordonProcess(name, role, port, env, path.join(shared.dir, `${name}.log`), shared.secrets);
  }

  /** An intake's base URL, or a worker's metrics URL. */
  get url(): string {
    return this.role === 'intake' ? `http://127.0.0.1:${this.port}` : `http://127.0.0.1:${this.port}/metrics`;
  }

  /** Starts the process (again) and waits until it says it is running. */
  async start(timeoutMs = 180_000): Promise<void> {
    // Detached: a terminal's Ctrl-C reaches only the start script, which stops intakes, then workers.
    this.proc = launch(process.execPath, nodeArgsFor('src/main'), this.env, this.secrets, { detached: true });
    let running = false;
    let recent = '';
    const log = createWriteStream(this.logFile, { flags: 'a' });
    this.proc.child.stdout!.pipe(log, { end: false });
    this.proc.child.stderr!.pipe(log, { end: false });
    void this.proc.exited.then(() => log.end());
    this.proc.child.stdout!.on('data', (chunk: Buffer) => {
      recent = (recent + chunk.toString()).slice(-4096);
      running ||= recent.includes('"msg":"cordon is running"');
    });
    await waitUntilReady(`cordon ${this.name}`, this.proc, async () => running, timeoutMs);
  }

  /** SIGTERM, then waits for the drain; SIGKILL after `graceMs` (a worker may finish in-flight actions). */
  async stop(graceMs = 60_000): Promise<void> {
    const { child, exited } = this.proc;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killed = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(killed);
  }

  /** Ends it at once, as a crashed machine would. */
  async kill(): Promise<void> {
    this.proc.child.kill('SIGKILL');
    await this.proc.exited;
  }
}
