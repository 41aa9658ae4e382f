import type { TransientFaults } from './simulated/transientFaults';

/** State-changing actions a connector may offer, smallest blast radius first. */
export type ActionName = 'restrict' | 'isolate' | 'revoke' | 'rotate';

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

/**
 * Evidence captured before acting; must hold no secret values. Evidence that changes on its own
 * (live sessions, last use) goes under `observed`: it is recorded, but a rollback does not
 * expect it back when it checks that the identity was restored.
 */
export type IdentitySnapshot = Record<string, unknown> & { observed?: Record<string, unknown> };

/** An identity system Cordon can act on. */
export interface Connector {
  name: string;
  description: string;
  actions: Partial<Record<ActionName, ConnectorAction>>;
  snapshot(identityId: string): Promise<IdentitySnapshot>;
  /** Checks that `action` holds on the identity now (the post-condition). */
  verify(identityId: string, action: ActionName, caseId: string): Promise<boolean>;
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
    /** Explicit keys; when absent the SDK's default chain (env, profile, instance role) applies. */
    credentials?: { accessKeyId: string; secretAccessKey: string };
  };
  postgres?: { url: string };
  /** Injected unreliability of the simulated provider (chaos runs); absent = reliable. */
  simulated?: TransientFaults;
}
