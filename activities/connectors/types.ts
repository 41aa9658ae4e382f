import type { ActionName, IdentitySnapshot } from '../../src/domain/case';

export type { ActionName, IdentitySnapshot };

/** What every action call carries; `idempotencyKey` makes retries safe at the provider. */
export interface ActionRequest {
  identityId: string;
  idempotencyKey: string;
  /**
   * The containment case (its first run id, stable across continue-as-new). Captures belong to
   * one case: a later case on the same identity never undoes to, or acts on, an earlier one's.
   */
  caseId: string;
}

/** What an action reports back. Never a secret value: fingerprints only. */
export interface ActionResult {
  /** False when the identity was already in the target state (idempotent repeat). */
  changed: boolean;
  detail: Record<string, unknown>;
}

/** One action of one identity system, Falco-Talon style: metadata plus run/undo. */
export interface ConnectorAction {
  name: ActionName;
  description: string;
  /** Provider permissions the action needs, for operators granting Cordon access. */
  permissions: string[];
  reversible: boolean;
  run(request: ActionRequest): Promise<ActionResult>;
  /** Present exactly when `reversible`; safe to call when `run` never took effect. */
  undo?(request: ActionRequest): Promise<ActionResult>;
}

/** An identity system Cordon can act on. */
export interface Connector {
  name: string;
  description: string;
  actions: Partial<Record<ActionName, ConnectorAction>>;
  snapshot(identityId: string): Promise<IdentitySnapshot>;
  /** Checks that `action` holds on the identity now (the post-condition). */
  verify(identityId: string, action: ActionName, caseId: string): Promise<boolean>;
}

/** An unreliable simulated provider for dry runs and `npm run chaos`: a share of calls fails, every call waits. */
export interface TransientFaults {
  /** Share of calls (0–1) that fail with a retryable error. */
  faultRate: number;
  /** Each call first waits a random time up to this many ms. */
  latencyMs: number;
}

/**
 * How Cordon reaches each identity system, with its own (least-privilege) credentials. A
 * connector whose settings are absent is not registered.
 */
export interface ConnectorSettings {
  openbao?: { address: string; token: string; kvMount: string };
  aws?: {
    region: string;
    /** An alternative endpoint (moto in tests, a VPC endpoint in production). */
    endpoint?: string;
    /** Where rotated access keys are stored in AWS Secrets Manager: `<prefix><user>`. */
    rotationSecretPrefix: string;
    /** Restrict also attaches AWS's managed AWSCompromisedKeyQuarantineV3 policy (undo detaches it). */
    quarantinePolicy?: boolean;
    /** Explicit keys; when absent the SDK's default chain (env, profile, instance role) applies. */
    credentials?: { accessKeyId: string; secretAccessKey: string };
  };
  postgres?: { url: string };
  /**
   * A Kubernetes API server (`https://host:port`): Cordon's bearer token as a value or a file (a
   * file is re-read on every call, as projected tokens rotate), and the server's CA bundle.
   */
  kubernetes?: { server: string; token?: string; tokenFile?: string; caFile?: string };
  /**
   * GitHub's REST API (`https://api.github.com`, or GitHub Enterprise Server's `/api/v3`) and a
   * GitHub App installation token or fine-grained PAT with the permissions the README lists.
   */
  github?: { apiUrl: string; token: string };
  /** Injected unreliability of the simulated provider (chaos runs); absent = reliable. */
  simulated?: TransientFaults;
  /**
   * Providers the simulated system plays instead (`cordon test`): their cases act on simulated
   * identities, whatever connector the provider has in production.
   */
  simulatedStandIns?: string[];
}
