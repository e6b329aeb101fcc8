import type { EndpointDiscoveryMethod } from '@wirekube/crd-types';
import type { EndpointSource } from '../types.js';
import { annotationSource } from './annotation.js';
import { awsImdsSource } from './aws-imds.js';
import { internalSource } from './internal.js';
import { ipv6Source } from './ipv6.js';
import { stunSource } from './stun.js';
import { upnpSource } from './upnp.js';

/** The sources for the given methods, in the given (precedence) order. */
export function endpointSources(methods: readonly EndpointDiscoveryMethod[]): EndpointSource[] {
  const factories: Record<EndpointDiscoveryMethod, () => EndpointSource> = {
    annotation: () => annotationSource,
    ipv6: () => ipv6Source,
    stun: () => stunSource,
    'aws-imds': () => awsImdsSource(),
    upnp: () => upnpSource(),
    internal: () => internalSource,
  };
  return methods.map((m) => factories[m]());
}
