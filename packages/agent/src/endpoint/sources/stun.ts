import { mappedAddress } from '../../nat/classify.js';
import { type EndpointSource, formatEndpoint } from '../types.js';

/**
 * The address the STUN servers saw. Behind a symmetric NAT the mapped port is only valid towards the STUN
 * server, so the endpoint is the public IP with the configured listen port (seed); behind a cone NAT the
 * mapping is the same for every destination and the mapped port is the one peers must use.
 * When the preserved interface holds the port, STUN cannot run from it: the endpoint already in the
 * WireKubePeer is kept (seed, node management).
 */
export const stunSource: EndpointSource = {
  method: 'stun',
  async discover(ctx) {
    if (ctx.stun.portInUse) {
      return ctx.previous?.endpoint
        ? { endpoint: ctx.previous.endpoint, method: ctx.previous.method ?? 'stun' }
        : undefined;
    }
    const mapped = mappedAddress(ctx.stun.observations);
    if (!mapped) return undefined;
    const port = ctx.stun.natType === 'symmetric' ? ctx.listenPort : mapped.port;
    return { endpoint: formatEndpoint(mapped.address, port), method: 'stun' };
  },
};
