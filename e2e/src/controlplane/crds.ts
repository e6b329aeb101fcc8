import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { LabError, LabTimeoutError } from '../errors.js';
import { sleep } from '../exec/pids.js';
import { httpsRequest, type TlsClient } from './ready.js';

const CRD_PATH = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

interface CrdDocument {
  metadata: { name: string };
}

/** Every CRD manifest in a directory (the chart's generated crds/). */
export function loadCrds(dir: string): CrdDocument[] {
  return readdirSync(dir)
    .filter((file) => /\.ya?ml$/.test(file))
    .sort()
    .map((file) => parse(readFileSync(join(dir, file), 'utf8')) as CrdDocument);
}

interface Condition {
  type: string;
  status: string;
}

/**
 * Creates the CRDs with plain JSON requests (a typed client would drop the x-kubernetes-* schema extensions it
 * does not model) and waits until every one is Established.
 */
export async function installCrds(server: string, tls: TlsClient, crds: CrdDocument[], timeoutMs = 20_000) {
  await Promise.all(
    crds.map(async (crd) => {
      const created = await httpsRequest('POST', `${server}${CRD_PATH}`, tls, crd);
      if (created.status !== 201 && created.status !== 409) {
        throw new LabError(`creating CRD ${crd.metadata.name}: ${created.status} ${created.body}`);
      }
    }),
  );
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(crds.map((crd) => crd.metadata.name));
  while (pending.size > 0) {
    for (const name of [...pending]) {
      const read = await httpsRequest('GET', `${server}${CRD_PATH}/${name}`, tls);
      const conditions = ((JSON.parse(read.body) as { status?: { conditions?: Condition[] } }).status
        ?.conditions ?? []) as Condition[];
      if (conditions.some((condition) => condition.type === 'Established' && condition.status === 'True')) {
        pending.delete(name);
      }
    }
    if (pending.size === 0) break;
    if (Date.now() > deadline)
      throw new LabTimeoutError('CRDs Established', timeoutMs, [...pending].join(', '));
    await sleep(25);
  }
}
