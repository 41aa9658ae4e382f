/** One schema change; `version` orders them and is recorded once applied. */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/**
 * The advisory lock that serializes schema changes and grants across processes sharing one
 * PostgreSQL: two owners granting at once fail with "tuple concurrently updated".
 */
export const MIGRATION_LOCK = 727_001;

// Applied in order, each once, in its own transaction. Append; never edit a shipped migration.
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'simulated identity system: state, applied actions, injected faults, secret store',
    sql: `
      CREATE TABLE simulated_identities (
        identity_id text PRIMARY KEY,
        state jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      -- Every state change applied, keyed by the caller's idempotency key.
      CREATE TABLE simulated_actions (
        action_key text PRIMARY KEY,
        identity_id text NOT NULL,
        action text NOT NULL,
        detail jsonb NOT NULL DEFAULT '{}'::jsonb,
        applied_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX simulated_actions_identity ON simulated_actions (identity_id);
      -- Faults a test or a dry run injects: remaining = -1 (permanent) or a count.
      CREATE TABLE simulated_faults (
        identity_id text NOT NULL,
        action text NOT NULL,
        remaining integer NOT NULL,
        PRIMARY KEY (identity_id, action)
      );
      -- Where rotated credentials are delivered (never into history).
      CREATE TABLE simulated_secret_store (
        identity_id text PRIMARY KEY,
        secret text NOT NULL,
        version integer NOT NULL
      );`,
  },
  {
    version: 2,
    description: 'audit store: append-only entries, one row per (workflow, run, seq)',
    sql: `
      CREATE TABLE audit_entries (
        workflow_id text NOT NULL,
        run_id text NOT NULL,
        seq integer NOT NULL,
        hash text NOT NULL,
        prev_hash text NOT NULL,
        entry jsonb NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workflow_id, run_id, seq)
      );
      CREATE INDEX audit_entries_identity ON audit_entries ((entry->>'identity'));
      CREATE INDEX audit_entries_stored_at ON audit_entries (stored_at);
      CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_entries is append-only';
      END $$;
      CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
        FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only();`,
  },
  {
    version: 3,
    description: 'connector captures: what an action changed, kept so its undo restores it exactly',
    sql: `
      CREATE TABLE connector_captures (
        provider text NOT NULL,
        identity_id text NOT NULL,
        action text NOT NULL,
        captured jsonb NOT NULL,
        captured_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (provider, identity_id, action)
      );`,
  },
  {
    version: 4,
    description: 'connector captures belong to one containment case',
    sql: `
      ALTER TABLE connector_captures ADD COLUMN case_id text NOT NULL DEFAULT '';
      ALTER TABLE connector_captures DROP CONSTRAINT connector_captures_pkey;
      ALTER TABLE connector_captures ADD PRIMARY KEY (provider, identity_id, action, case_id);`,
  },
  {
    version: 5,
    description: 'destructive-action budget: one row per granted permit, keyed by its request id',
    sql: `
      CREATE TABLE budget_grants (
        request_id text PRIMARY KEY,
        workflow_id text NOT NULL,
        stage text NOT NULL,
        approved boolean NOT NULL,
        granted_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX budget_grants_granted_at ON budget_grants (granted_at);`,
  },
  {
    version: 6,
    description:
      'the kill switch and the cases it holds; the policies the worker loaded and the one each case was opened with',
    sql: `
      -- One row: whether new state-changing actions may start. Moves are audited in audit_entries.
      CREATE TABLE kill_switch (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        engaged boolean NOT NULL,
        changed_by text NOT NULL,
        reason text,
        since timestamptz NOT NULL DEFAULT now()
      );
      -- Cases the engaged switch held, told when it is released (each also retries on a timer).
      CREATE TABLE kill_switch_waiters (
        workflow_id text PRIMARY KEY,
        since timestamptz NOT NULL DEFAULT now()
      );
      -- Policies the worker read from its files, by digest.
      CREATE TABLE accepted_policies (
        digest text PRIMARY KEY,
        version text NOT NULL,
        policy jsonb NOT NULL,
        first_loaded_at timestamptz NOT NULL DEFAULT now()
      );
      -- The policy each case was opened with (current then): it may act under that one or the current.
      CREATE TABLE case_policies (
        case_id text NOT NULL,
        digest text NOT NULL REFERENCES accepted_policies (digest),
        PRIMARY KEY (case_id, digest)
      );`,
  },
  {
    version: 7,
    description: 'decisions made through an authenticated path; chat callbacks already used',
    sql: `
      -- The truth about who decided: only the authenticated intake writes here. A case counts a
      -- decision as verified only after it finds it here; the guard checks approvals against it.
      CREATE TABLE human_decisions (
        id text PRIMARY KEY,
        workflow_id text NOT NULL,
        kind text NOT NULL,
        request_id text,
        action_digest text,
        actor text NOT NULL,
        method text NOT NULL,
        reason text,
        decided_at timestamptz NOT NULL DEFAULT now(),
        -- The case step that counted it: a decision is used once, by one case.
        used_by text
      );
      CREATE INDEX human_decisions_request ON human_decisions (workflow_id, request_id);
      -- Signed callbacks (Slack) are used once: a replayed click changes nothing.
      CREATE TABLE used_callbacks (
        key text PRIMARY KEY,
        used_at timestamptz NOT NULL DEFAULT now()
      );`,
  },
  {
    version: 8,
    description: 'webhook deliveries already accepted, so a replayed delivery is refused',
    sql: `
      CREATE TABLE webhook_deliveries (
        source text NOT NULL,
        delivery_id text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source, delivery_id)
      );
      CREATE INDEX webhook_deliveries_received_at ON webhook_deliveries (received_at);`,
  },
  {
    version: 9,
    description: 'signed audit chain heads, append-only like the entries they vouch for',
    sql: `
      -- Written by the process that stores entries, with a key the database never sees.
      CREATE TABLE audit_head_signatures (
        workflow_id text NOT NULL,
        chain text NOT NULL,
        seq integer NOT NULL,
        hash text NOT NULL,
        signature text NOT NULL,
        key text NOT NULL,
        signed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workflow_id, chain, seq)
      );
      CREATE TRIGGER audit_head_signatures_append_only BEFORE UPDATE OR DELETE ON audit_head_signatures
        FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only();`,
  },
  {
    version: 10,
    description: 'alert evidence too large for a workflow history, by digest',
    sql: `
      -- The intake keeps large evidence here; the alert in history carries its digest and size.
      -- Canonical JSON as text, so reading it back reproduces the digest exactly.
      CREATE TABLE alert_evidence (
        digest text PRIMARY KEY,
        evidence text NOT NULL,
        bytes integer NOT NULL,
        stored_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX alert_evidence_stored_at ON alert_evidence (stored_at);`,
  },
];
