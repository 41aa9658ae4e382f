// A throwaway certificate authority and a client certificate it signed, made with openssl.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** PEM files in a fresh directory: `ca` signed `clientCert`, whose key is `clientKey`; `otherKey` is no one's. */
export interface TestCertificates {
  dir: string;
  ca: string;
  clientCert: string;
  clientKey: string;
  otherKey: string;
}

const openssl = (dir: string, args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

const newKey = (dir: string, name: string) =>
  openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name]);

/** Makes the CA, the client certificate (CN `name`) and a stray key. */
export function makeTestCertificates(name = 'cordon-worker'): TestCertificates {
  const dir = mkdtempSync(path.join(tmpdir(), 'cordon-tls-'));
  newKey(dir, 'ca.key');
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-subj',
    '/CN=cordon-test-ca',
    '-days',
    '2',
    '-out',
    'ca.pem',
  ]);
  newKey(dir, 'client.key');
  openssl(dir, ['req', '-new', '-key', 'client.key', '-subj', `/CN=${name}`, '-out', 'client.csr']);
  writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'client.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'client.ext',
    '-out',
    'client.pem',
  ]);
  newKey(dir, 'other.key');
  const at = (file: string) => path.join(dir, file);
  return {
    dir,
    ca: at('ca.pem'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    otherKey: at('other.key'),
  };
}
