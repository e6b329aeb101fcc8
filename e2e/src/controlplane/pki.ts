import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../exec/run.js';

/** Every file of the control plane's PKI, as paths. */
export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  /** Service-account token signing key pair (ES256). */
  saKey: string;
  saPub: string;
}

export interface PkiRequest {
  dir: string;
  /** IP SANs of the serving certificate: every address clients use to reach the API server. */
  serverIPs: readonly string[];
}

// Node can make keys but not certificates; openssl (always on Debian) signs them. EC keys keep it fast.
function writeKey(path: string): void {
  const { privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  writeFileSync(path, privateKey, { mode: 0o600 });
}

const DAYS = '7';

/** A client certificate's files. */
export interface ClientCert {
  cert: string;
  key: string;
}

/**
 * Issues a client certificate signed by the lab CA, e.g. `/O=system:nodes/CN=system:node:pub` for a kubelet.
 * `name` names the files in `dir`.
 */
export async function issueClientCert(
  pki: Pki,
  dir: string,
  name: string,
  subject: string,
): Promise<ClientCert> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  writeKey(files.key);
  await run(
    ['openssl', 'req', '-x509', '-new', '-key', files.key, '-CA', pki.caCert, '-CAkey', pki.caKey]
      .concat(['-subj', subject, '-days', DAYS, '-addext', 'basicConstraints=critical,CA:FALSE'])
      .concat(['-addext', 'keyUsage=critical,digitalSignature,keyEncipherment'])
      .concat(['-addext', 'extendedKeyUsage=clientAuth', '-out', files.cert]),
  );
  return files;
}

/** A fresh CA, serving certificate, admin client certificate (system:masters) and service-account keys. */
export async function createPki(request: PkiRequest): Promise<Pki> {
  const { dir } = request;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pki: Pki = {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
  };
  for (const key of [pki.caKey, pki.serverKey, pki.adminKey]) writeKey(key);
  const sa = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  writeFileSync(pki.saKey, sa.privateKey, { mode: 0o600 });
  writeFileSync(pki.saPub, sa.publicKey);

  await run(
    ['openssl', 'req', '-x509', '-new', '-key', pki.caKey, '-subj', '/CN=wirekube-lab-ca', '-days', DAYS]
      .concat([
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ])
      .concat(['-out', pki.caCert]),
  );
  const leaf = (key: string, subject: string, out: string, extensions: string[]) =>
    run(
      [
        'openssl',
        'req',
        '-x509',
        '-new',
        '-key',
        key,
        '-CA',
        pki.caCert,
        '-CAkey',
        pki.caKey,
        '-subj',
        subject,
      ]
        .concat(['-days', DAYS, '-addext', 'basicConstraints=critical,CA:FALSE'])
        .concat(['-addext', 'keyUsage=critical,digitalSignature,keyEncipherment'])
        .concat(extensions.flatMap((extension) => ['-addext', extension]))
        .concat(['-out', out]),
    );
  const sans = [
    ...request.serverIPs.map((ip) => `IP:${ip}`),
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:localhost',
    'IP:127.0.0.1',
  ];
  await Promise.all([
    leaf(pki.serverKey, '/CN=kube-apiserver', pki.serverCert, [
      `subjectAltName=${sans.join(',')}`,
      'extendedKeyUsage=serverAuth',
    ]),
    leaf(pki.adminKey, '/O=system:masters/CN=wirekube-lab-admin', pki.adminCert, [
      'extendedKeyUsage=clientAuth',
    ]),
  ]);
  return pki;
}
