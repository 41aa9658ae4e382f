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
  // Faults a test or a dry run injects into the simulated system: `permanent` or a count.
  `CREATE TABLE IF NOT EXISTS simulated_faults (
     identity_id text NOT NULL,
     action text NOT NULL,
     remaining integer NOT NULL,
     PRIMARY KEY (identity_id, action)
   )`,
  // The simulated secret store: where rotated credentials are delivered (never into history).
  `CREATE TABLE IF NOT EXISTS simulated_secret_store (
     identity_id text PRIMARY KEY,
     secret text NOT NULL,
     version integer NOT NULL
   )`,
  // The audit store: append-only, one row per (workflow, run, seq); retries cannot duplicate.
  `CREATE TABLE IF NOT EXISTS audit_entries (
     workflow_id text NOT NULL,
     run_id text NOT NULL,
     seq integer NOT NULL,
     hash text NOT NULL,
     prev_hash text NOT NULL,
     entry jsonb NOT NULL,
     stored_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (workflow_id, run_id, seq)
   )`,
];
