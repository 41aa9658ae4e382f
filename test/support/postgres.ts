// Tests start PostgreSQL the way the cluster does.
export { startPostgres, type LocalPostgres as TestPostgres } from '../../src/cluster/postgres';
