import { type EndpointSource, formatEndpoint } from '../types.js';

/** Last resort: the node's own address, right for nodes that share a network with all their peers. */
export const internalSource: EndpointSource = {
  method: 'internal',
  async discover(ctx) {
    const address =
      ctx.nodeAddresses.find((a) => a.type === 'InternalIP')?.address ??
      ctx.nodeAddresses.find((a) => a.type === 'ExternalIP')?.address ??
      ctx.hostAddresses[0];
    return address ? { endpoint: formatEndpoint(address, ctx.listenPort), method: 'internal' } : undefined;
  },
};
