// The cluster's PostgreSQL roles, none of them a superuser: Temporal's owns its two databases;
// Cordon's owner role owns the `cordon` database (migrations and grants) and its service role may
// only read and append to the audit. The superuser's password stays with the start script.
import { randomBytes } from 'node:crypto';
import { Client as PgClient } from 'pg';
import type { PostgresLogin } from './temporal';

export interface ClusterDatabases {
  /** Temporal's login: it creates and owns `temporal` and `temporal_visibility`. */
  temporal: PostgresLogin;
  /** Cordon's processes: DATABASE_URL. */
  cordonUrl: string;
  /** Cordon's owner role: CORDON_MIGRATION_DATABASE_URL. */
  cordonOwnerUrl: string;
  /** Every password made here, to blank in output. */
  passwords: string[];
}

const urlFor = (superUrl: string, role: string, password: string, database: string) => {
  const url = new URL(superUrl);
  url.username = role;
  url.password = password;
  url.pathname = `/${database}`;
  return url.toString();
};

/** Creates the roles and Cordon's database as the superuser at `superUrl`. */
export async function createClusterRoles(superUrl: string, port: number): Promise<ClusterDatabases> {
  // base64url: nothing in it needs quoting in SQL or a URL.
  const [temporal, owner, service] = [0, 1, 2].map(() => randomBytes(18).toString('base64url'));
  const client = new PgClient({ connectionString: superUrl });
  await client.connect();
  try {
    await client.query(`CREATE ROLE temporal LOGIN CREATEDB PASSWORD '${temporal}'`);
    await client.query(`CREATE ROLE cordon_owner LOGIN PASSWORD '${owner}'`);
    await client.query(`CREATE ROLE cordon_service LOGIN PASSWORD '${service}'`);
    await client.query('CREATE DATABASE cordon OWNER cordon_owner');
  } finally {
    await client.end();
  }
  return {
    temporal: { host: '127.0.0.1', port, user: 'temporal', password: temporal },
    cordonUrl: urlFor(superUrl, 'cordon_service', service, 'cordon'),
    cordonOwnerUrl: urlFor(superUrl, 'cordon_owner', owner, 'cordon'),
    passwords: [temporal, owner, service],
  };
}
