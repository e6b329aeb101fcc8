import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { DiscoveryContext, Endpoint, EndpointSource } from './types.js';

/** Why no source produced an endpoint, per method: shown in logs and in the agent's Event. */
export class NoEndpointError extends Error {
  constructor(readonly attempts: ReadonlyArray<{ method: string; outcome: string }>) {
    super(`no endpoint discovered: ${attempts.map((a) => `${a.method}: ${a.outcome}`).join('; ')}`);
    this.name = 'NoEndpointError';
  }
}

/**
 * Tries each source in precedence order and returns the first endpoint found. A failing source is logged and
 * skipped: one broken method (an unreachable metadata service, a router without UPnP) never blocks the others.
 */
export async function discoverEndpoint(
  sources: readonly EndpointSource[],
  ctx: DiscoveryContext,
  log?: Logger,
): Promise<Endpoint> {
  const attempts: Array<{ method: string; outcome: string }> = [];
  for (const source of sources) {
    try {
      const found = await source.discover(ctx);
      if (found) return found;
      attempts.push({ method: source.method, outcome: 'not applicable' });
    } catch (error) {
      const message = errorMessage(error);
      attempts.push({ method: source.method, outcome: message });
      log?.warn(
        { event: 'endpoint-method-failed', method: source.method, err: message },
        'endpoint discovery method failed',
      );
    }
  }
  throw new NoEndpointError(attempts);
}
