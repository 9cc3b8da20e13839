// Certificates for TLS tests, made with openssl in a fresh directory: a root CA, an intermediate
// that expires in 3 days (before its leaf), and leaves that are good, expiring in 5 days,
// expired, for the wrong host, self-signed, or a client's (mTLS).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Pem {
  cert: Buffer;
  key: Buffer;
  certFile: string;
  keyFile: string;
}

export interface TestPki {
  dir: string;
  root: Pem;
  intermediate: Pem;
  /** Signed by the intermediate (valid 90 days): the chain's earliest expiry is the intermediate's. */
  viaIntermediate: Pem;
  /** Signed by the root, expiring in 5 days. */
  expiring: Pem;
  /** Signed by the root, valid in 2020 only. */
  expired: Pem;
  /** Signed by the root, for example.invalid only. */
  wrongHost: Pem;
  selfSigned: Pem;
  /** A client certificate signed by the root (mTLS). */
  client: Pem;
}

const LOCAL = 'subjectAltName=DNS:localhost,IP:127.0.0.1';

export function testPki(): TestPki {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-pki-'));
  const file = (name: string) => path.join(dir, name);
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const load = (name: string): Pem => ({ cert: readFileSync(file(`${name}.pem`)), key: readFileSync(file(`${name}.key`)), certFile: file(`${name}.pem`), keyFile: file(`${name}.key`) });
  const newKey = (name: string) => run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', `${name}.key`]);
  const csr = (name: string, cn: string) => (newKey(name), run(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]));
  /** Signs `name`'s request with `ca` for `days`, with these extensions. */
  const sign = (name: string, ca: string, days: number, extensions: string[]) => {
    writeFileSync(file(`${name}.ext`), `${extensions.join('\n')}\n`);
    run(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', String(days), '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
  };
  const CA = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];
  const LEAF = ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature', 'extendedKeyUsage=serverAuth'];

  newKey('root');
  run(['req', '-x509', '-new', '-key', 'root.key', '-subj', '/CN=flowprobe test root', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'root.pem']);
  csr('intermediate', 'flowprobe test intermediate');
  sign('intermediate', 'root', 3, CA);
  csr('via-intermediate', 'localhost');
  sign('via-intermediate', 'intermediate', 90, [...LEAF, LOCAL]);
  csr('expiring', 'localhost');
  sign('expiring', 'root', 5, [...LEAF, LOCAL]);
  csr('wrong-host', 'example.invalid');
  sign('wrong-host', 'root', 30, [...LEAF, 'subjectAltName=DNS:example.invalid']);
  csr('client', 'flowprobe client');
  sign('client', 'root', 30, ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature', 'extendedKeyUsage=clientAuth']);
  newKey('self-signed');
  run(['req', '-x509', '-new', '-key', 'self-signed.key', '-subj', '/CN=localhost', '-days', '30', '-addext', LOCAL, '-out', 'self-signed.pem']);
  // Expired: `openssl ca` is what sets dates in the past (x509 -req only counts days from now).
  csr('expired', 'localhost');
  writeFileSync(file('index.txt'), '');
  writeFileSync(file('serial'), '1000\n');
  writeFileSync(file('expired.ext'), `${[...LEAF, LOCAL].join('\n')}\n`);
  writeFileSync(
    file('ca.cnf'),
    ['[ca]', 'default_ca = own', '[own]', 'database = index.txt', 'serial = serial', 'new_certs_dir = .', 'default_md = sha256', 'policy = any', 'unique_subject = no', '[any]', 'commonName = supplied', ''].join('\n'),
  );
  run(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'root.pem', '-keyfile', 'root.key', '-in', 'expired.csr', '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-extfile', 'expired.ext', '-notext', '-out', 'expired.pem']);

  return {
    dir,
    root: load('root'),
    intermediate: load('intermediate'),
    viaIntermediate: load('via-intermediate'),
    expiring: load('expiring'),
    expired: load('expired'),
    wrongHost: load('wrong-host'),
    selfSigned: load('self-signed'),
    client: load('client'),
  };
}
