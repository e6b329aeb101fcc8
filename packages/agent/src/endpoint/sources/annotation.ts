import { ANNOTATIONS, HOST_PORT_PATTERN } from '@wirekube/crd-types';
import { type EndpointSource, formatEndpoint } from '../types.js';

const HOST_PORT = new RegExp(HOST_PORT_PATTERN);

/** `wirekube.io/endpoint` on the Node: an operator's manual `ip:port` (or bare ip, with the listen port). */
export const annotationSource: EndpointSource = {
  method: 'annotation',
  async discover(ctx) {
    const value = ctx.nodeAnnotations[ANNOTATIONS.endpoint]?.trim();
    if (!value) return undefined;
    if (HOST_PORT.test(value)) return { endpoint: value, method: 'annotation' };
    if (/^[0-9.]+$/.test(value) || value.includes(':')) {
      return {
        endpoint: formatEndpoint(value.replace(/^\[|\]$/g, ''), ctx.listenPort),
        method: 'annotation',
      };
    }
    throw new Error(`annotation ${ANNOTATIONS.endpoint}="${value}" is not ip:port`);
  },
};
