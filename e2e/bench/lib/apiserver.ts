/** The lab API server's own request counters (/metrics), read through the admin kubeconfig. */
import type { Lab } from '../../src/index.js';
import { parseMetrics, type Sample, sumBy } from './prom.js';

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'DELETECOLLECTION', 'APPLY']);

export async function apiServerMetrics(lab: Lab): Promise<Sample[]> {
  const { stdout } = await lab.controlPlane!.kubectl(['get', '--raw', '/metrics']);
  return parseMetrics(stdout);
}

/** Write requests served so far, by "resource/subresource/verb". */
export function writesByResource(samples: readonly Sample[]): Map<string, number> {
  return sumBy(samples, 'apiserver_request_total', ['resource', 'subresource', 'verb'], (l) =>
    WRITE_VERBS.has(l.verb ?? ''),
  );
}

/** Request body bytes received so far, by "resource/verb" (create, update, patch). */
export function bodyBytesByResource(samples: readonly Sample[]): Map<string, number> {
  return sumBy(samples, 'apiserver_request_body_size_bytes_sum', ['resource', 'verb']);
}
