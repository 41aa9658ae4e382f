// Idempotent DDL, applied in order at every start. Append; never edit a shipped statement.
export const MIGRATIONS: readonly string[] = [
  // State of identities in the `simulated` identity system, so tests can assert outcomes.
  `CREATE TABLE IF NOT EXISTS simulated_identities (
     identity_id text PRIMARY KEY,
     state jsonb NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now()
   )`,
  // Every state change the simulated system applied, keyed by the caller's idempotency key.
  `CREATE TABLE IF NOT EXISTS simulated_actions (
     action_key text PRIMARY KEY,
     identity_id text NOT NULL,
     action text NOT NULL,
     detail jsonb NOT NULL DEFAULT '{}'::jsonb,
     applied_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE INDEX IF NOT EXISTS simulated_actions_identity ON simulated_actions (identity_id)`,
];
