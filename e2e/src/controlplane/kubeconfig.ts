import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export interface KubeconfigInput {
  server: string;
  caCert: Buffer;
  /** Client certificate authentication (admin) ... */
  clientCert?: Buffer;
  clientKey?: Buffer;
  /** ... or a bearer token (service accounts). */
  token?: string;
  user: string;
}

/** A self-contained kubeconfig (certificates embedded), so it works from any namespace or directory. */
export function renderKubeconfig(input: KubeconfigInput): string {
  const user: Record<string, string> = {};
  if (input.clientCert) user['client-certificate-data'] = input.clientCert.toString('base64');
  if (input.clientKey) user['client-key-data'] = input.clientKey.toString('base64');
  if (input.token) user.token = input.token;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'wirekube-lab',
        cluster: { server: input.server, 'certificate-authority-data': input.caCert.toString('base64') },
      },
    ],
    users: [{ name: input.user, user }],
    contexts: [{ name: 'wirekube-lab', context: { cluster: 'wirekube-lab', user: input.user } }],
    'current-context': 'wirekube-lab',
    preferences: {},
  });
}

export function writeKubeconfig(path: string, input: KubeconfigInput): string {
  writeFileSync(path, renderKubeconfig(input), { mode: 0o600 });
  return path;
}
