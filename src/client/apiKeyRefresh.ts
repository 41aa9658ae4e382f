// Bearer tokens expire. The operator replaces the token file (a Kubernetes secret mount, a sidecar
// that renews JWTs); every open connection takes the new token without a restart.
import { readApiKeyFile } from '../config/deployment';
import { fingerprint } from '../digest';
import type { Logger } from '../log';

/** How often the token file is read again. */
export const API_KEY_REFRESH_MS = 30_000;

/** A connection whose bearer token can be replaced: the SDK's Connection and NativeConnection both are. */
export interface ApiKeyHolder {
  setApiKey(key: string): unknown;
}

/** Names a token in logs without holding it. */
export const keyFingerprint = (key: string) => fingerprint(key).slice(0, 'sha256:'.length + 12);

/** Re-reads an API key file and hands a changed token to every connection it was given. */
export class ApiKeyRefresher {
  private readonly connections: ApiKeyHolder[] = [];

  constructor(
    private readonly file: string,
    private applied: string,
    private readonly logger: Logger,
  ) {}

  /** The fingerprint of the token the connections carry now. */
  get fingerprint(): string {
    return keyFingerprint(this.applied);
  }

  /** A connection opened with the token applied so far. */
  add(connection: ApiKeyHolder): void {
    this.connections.push(connection);
  }

  /**
   * Reads the file once; a changed token is applied to every connection (true). A file that
   * cannot be read or holds no token keeps the current one, and says so: it may be mid-rotation.
   */
  async refresh(): Promise<boolean> {
    const read = readApiKeyFile(this.file);
    if ('problem' in read) {
      this.logger.warn({ problem: read.problem }, 'Temporal API key file unusable: keeping the current token');
      return false;
    }
    if (read.key === this.applied) return false;
    for (const connection of this.connections) {
      try {
        await connection.setApiKey(read.key);
      } catch (err) {
        this.logger.error({ err: (err as Error).message }, 'a Temporal connection refused the new API key');
      }
    }
    this.logger.info(
      { from: keyFingerprint(this.applied), to: keyFingerprint(read.key) },
      'Temporal API key replaced from its file',
    );
    this.applied = read.key;
    return true;
  }

  /** Refreshes every `ms` until the returned stop is called. */
  every(ms: number = API_KEY_REFRESH_MS): () => void {
    let running: Promise<boolean> | undefined;
    const timer = setInterval(() => {
      running ??= this.refresh().finally(() => (running = undefined));
    }, ms);
    timer.unref();
    return () => clearInterval(timer);
  }
}
