// The Temporal server of the cluster: its schema on PostgreSQL, then each service as its own
// process from config/temporal/cluster.yaml, with ports and files handed over as variables.
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { freePort, freePortIn, listening } from '../net';
import { PROJECT_ROOT } from '../temporal/binaries';
import { launch, serverEnvironment, waitUntilReady, type Launched } from '../sandbox/launch';

/** The services, in the order they start (the frontends need history and matching to serve). */
export const TEMPORAL_SERVICES = ['history', 'matching', 'internal-frontend', 'frontend', 'worker'] as const;
export type TemporalService = (typeof TEMPORAL_SERVICES)[number];

export interface TemporalBinaries {
  server: string;
  sqlTool: string;
}

/** The binaries built by scripts/build-temporal-server.sh, or why they are missing. */
export function temporalBinaries(): TemporalBinaries {
  const dir = execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts/build-temporal-server.sh'), '--dir'], {
    encoding: 'utf8',
  }).trim();
  return { server: path.join(dir, 'temporal-server'), sqlTool: path.join(dir, 'temporal-sql-tool') };
}

/** Where PostgreSQL is and who Temporal connects as. */
export interface PostgresLogin {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** Creates Temporal's two databases and brings their schemas to the binary's version. */
export function setupTemporalSchema(sqlTool: string, pg: PostgresLogin): void {
  const env = {
    ...serverEnvironment(),
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: pg.host,
    SQL_PORT: String(pg.port),
    SQL_USER: pg.user,
    SQL_PASSWORD: pg.password,
  };
  for (const [database, schema] of [
    ['temporal', 'postgresql/v12/temporal'],
    ['temporal_visibility', 'postgresql/v12/visibility'],
  ]) {
    const run = (...args: string[]) =>
      execFileSync(sqlTool, ['--plugin', 'postgres12', '--database', database, ...args], { env, stdio: 'pipe' });
    run('create-database');
    run('setup-schema', '--version', '0.0');
    run('update-schema', '--schema-name', schema);
  }
}

/** Settings of config/temporal/cluster.yaml that every service process reads. */
export interface TemporalSettings {
  pg: PostgresLogin;
  tlsDir: string;
  jwksUrl: string;
  logDir: string;
}

type Ports = Record<string, number>;

async function allocatePorts(): Promise<Ports> {
  const ports: Ports = {};
  for (const service of TEMPORAL_SERVICES) {
    const name = service.toUpperCase().replace('-', '_');
    ports[`${name}_PORT`] = await freePort();
    // Stored in a smallint column of the cluster_membership table: below 32768, under the
    // ephemeral range other ports come from.
    ports[`${name}_MEMBERSHIP_PORT`] = await freePortIn(20_000, 32_000);
    ports[`${name}_METRICS_PORT`] = await freePort();
  }
  ports.FRONTEND_HTTP_PORT = await freePort();
  return ports;
}

/** The running services: the frontend's address, and each process to stop, kill or restart. */
export class TemporalCluster {
  readonly processes = new Map<TemporalService, Launched>();

  private constructor(
    private readonly binary: string,
    private readonly settings: TemporalSettings,
    private readonly ports: Ports,
  ) {}

  static async create(binary: string, settings: TemporalSettings): Promise<TemporalCluster> {
    return new TemporalCluster(binary, settings, await allocatePorts());
  }

  get frontendAddress(): string {
    return `127.0.0.1:${this.ports.FRONTEND_PORT}`;
  }

  /** Where `service` takes gRPC calls (only the frontend takes clients' calls). */
  address(service: TemporalService): string {
    return `127.0.0.1:${this.ports[`${service.toUpperCase().replace('-', '_')}_PORT`]}`;
  }

  /** Where Prometheus scrapes `service`. */
  metricsUrl(service: TemporalService): string {
    return `http://127.0.0.1:${this.ports[`${service.toUpperCase().replace('-', '_')}_METRICS_PORT`]}/metrics`;
  }

  private environment(service: TemporalService): NodeJS.ProcessEnv {
    const { pg, tlsDir, jwksUrl } = this.settings;
    const variables: Record<string, string> = {
      PG_ADDRESS: `${pg.host}:${pg.port}`,
      PG_USER: pg.user,
      PG_PASSWORD: pg.password,
      TLS_DIR: tlsDir,
      JWKS_URL: jwksUrl,
      DYNAMIC_CONFIG: path.join(PROJECT_ROOT, 'config/temporal/dynamicconfig.yaml'),
      FRONTEND_ADDRESS: this.frontendAddress,
      FRONTEND_HTTP_ADDRESS: `127.0.0.1:${this.ports.FRONTEND_HTTP_PORT}`,
      METRICS_ADDRESS: new URL(this.metricsUrl(service)).host,
      ...Object.fromEntries(Object.entries(this.ports).map(([name, port]) => [name, String(port)])),
    };
    return serverEnvironment(
      Object.fromEntries(Object.entries(variables).map(([name, value]) => [`CORDON_CLUSTER_${name}`, value])),
    );
  }

  /** Starts `service` (again, after a stop); its output goes to `<logDir>/<service>.log`. */
  start(service: TemporalService): Launched {
    const config = path.join(PROJECT_ROOT, 'config/temporal/cluster.yaml');
    // Detached: a terminal's Ctrl-C reaches only the start script, which stops the services last.
    const proc = launch(
      this.binary,
      ['--config-file', config, 'start', '--service', service],
      this.environment(service),
      [this.settings.pg.password],
      { detached: true },
    );
    const log = createWriteStream(path.join(this.settings.logDir, `${service}.log`), { flags: 'a' });
    // Two streams into one file: neither may end it while the other still writes.
    proc.child.stdout!.pipe(log, { end: false });
    proc.child.stderr!.pipe(log, { end: false });
    void proc.exited.then(() => log.end());
    this.processes.set(service, proc);
    return proc;
  }

  /**
   * Starts every service. History first, alone, until it serves: services starting together on
   * an empty database race to write the cluster metadata, and the losers exit.
   */
  async startAll(timeoutMs = 180_000): Promise<void> {
    const [first, ...rest] = TEMPORAL_SERVICES;
    const port = this.ports[`${first.toUpperCase()}_PORT`];
    await waitUntilReady(`temporal ${first}`, this.start(first), () => listening(port), timeoutMs);
    for (const service of rest) this.start(service);
  }

  /** Throws, with its output, when a service has exited: start-up then fails at once. */
  assertRunning(): void {
    for (const [service, proc] of this.processes)
      if (proc.child.exitCode !== null || proc.child.signalCode !== null || proc.failure())
        throw new Error(`temporal ${service} exited:\n${proc.output().slice(-2000)}`);
  }

  /** Stops every service, the frontends first. */
  async stop(): Promise<void> {
    for (const service of [...TEMPORAL_SERVICES].reverse()) await this.processes.get(service)?.stop();
  }
}
