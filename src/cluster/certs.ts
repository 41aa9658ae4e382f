// The cluster's certificates, made at start-up with openssl: CAs of its own, the frontend's
// server certificate, client certificates for Cordon and the operator, and the Temporal services'
// internode certificate. Keys never leave `dir`.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Where a certificate and its key are, as PEM files. */
export interface CertFiles {
  cert: string;
  key: string;
}

/** Files of the cluster's PKI; the file names are the ones config/temporal/cluster.yaml reads. */
export interface ClusterCerts {
  dir: string;
  ca: string;
  frontend: CertFiles;
  cordon: CertFiles;
  operator: CertFiles;
  internodeCa: string;
  internode: CertFiles;
}

/** Short-lived on purpose: a new cluster start makes new ones. */
export const CERT_DAYS = 30;
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });

function issue(dir: string, ca: string, name: string, subject: string, extensions: string[]): CertFiles {
  const files = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  writeFileSync(ext, `${extensions.join('\n')}\n`);
  openssl(['req', '-new', ...EC_KEY, '-keyout', files.key, '-out', csr, '-subj', `/CN=${subject}`]);
  openssl(
    ['x509', '-req', '-in', csr, '-CA', path.join(dir, `${ca}.pem`), '-CAkey', path.join(dir, `${ca}.key`)]
      .concat(['-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', String(CERT_DAYS), '-out', files.cert])
      .concat(['-extfile', ext]),
  );
  rmSync(csr);
  rmSync(ext);
  return files;
}

function makeCa(dir: string, name: string, subject: string): string {
  const ca = path.join(dir, `${name}.pem`);
  openssl(
    ['req', '-x509', ...EC_KEY, '-keyout', path.join(dir, `${name}.key`), '-out', ca, '-days', String(CERT_DAYS)]
      .concat(['-subj', `/CN=${subject}`, '-addext', 'basicConstraints=critical,CA:TRUE'])
      .concat(['-addext', 'keyUsage=critical,keyCertSign,cRLSign']),
  );
  return ca;
}

/** The name the Temporal services check on each other's certificate, whatever address they dial. */
export const INTERNODE_SERVER_NAME = 'temporal-internode';

/**
 * Two new CAs in `dir` and the certificates they sign; their keys are deleted once done (a new
 * start makes new ones). The clients' CA signs the frontend's certificate (`hosts` are the names
 * clients may dial it by: loopback always, compose adds its service name) and Cordon's and the
 * operator's. The internode CA signs the one certificate the Temporal services present to each
 * other: only they hold it, so nothing else reaches history, matching or the internal frontend.
 */
export function makeClusterCerts(dir: string, hosts: string[] = []): ClusterCerts {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = makeCa(dir, 'ca', 'Cordon cluster CA');
  const names = ['DNS:localhost', 'IP:127.0.0.1', ...hosts.map((host) => `DNS:${host}`)];
  const server = ['basicConstraints=CA:FALSE', 'extendedKeyUsage=serverAuth', `subjectAltName=${names.join(',')}`];
  const client = (name: string) => [
    'basicConstraints=CA:FALSE',
    'extendedKeyUsage=clientAuth',
    `subjectAltName=DNS:${name}`,
  ];
  const certs = {
    dir,
    ca,
    frontend: issue(dir, 'ca', 'frontend', 'temporal-frontend', server),
    cordon: issue(dir, 'ca', 'cordon', 'cordon', client('cordon')),
    operator: issue(dir, 'ca', 'operator', 'operator', client('operator')),
    internodeCa: makeCa(dir, 'internode-ca', 'Cordon cluster internode CA'),
  };
  const internode = issue(dir, 'internode-ca', 'internode', INTERNODE_SERVER_NAME, [
    'basicConstraints=CA:FALSE',
    'extendedKeyUsage=serverAuth,clientAuth',
    `subjectAltName=DNS:${INTERNODE_SERVER_NAME}`,
  ]);
  for (const key of ['ca.key', 'internode-ca.key']) rmSync(path.join(dir, key));
  return { ...certs, internode };
}
