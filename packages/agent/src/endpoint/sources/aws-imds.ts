import { readFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { type EndpointSource, formatEndpoint } from '../types.js';

export interface AwsImdsOptions {
  /** Defaults to the link-local metadata service. Tests point it at a local server. */
  baseUrl?: string;
  /** Per request. Off-cloud the service does not exist, so this must stay short. */
  timeoutMs?: number;
  /** Whether this machine can be on EC2; the default reads DMI so off-cloud nodes skip without a packet. */
  maybeOnAws?: () => Promise<boolean>;
}

const DMI_FILES = [
  '/sys/class/dmi/id/sys_vendor',
  '/sys/class/dmi/id/board_vendor',
  '/sys/class/dmi/id/bios_vendor',
];

async function dmiSaysAmazon(): Promise<boolean> {
  const vendors = await Promise.all(DMI_FILES.map((f) => readFile(f, 'utf8').catch(() => undefined)));
  const known = vendors.filter((v): v is string => v !== undefined);
  // No DMI (some containers, some hypervisors): cannot rule EC2 out, so ask the service (with a short timeout).
  return known.length === 0 || known.some((v) => /amazon/i.test(v));
}

/**
 * The instance's public IPv4 from EC2 instance metadata (IMDSv2: a session token first, then the query).
 * Returns undefined when the instance has no public address or when this is not EC2.
 */
export function awsImdsSource(options: AwsImdsOptions = {}): EndpointSource {
  const baseUrl = options.baseUrl ?? 'http://169.254.169.254';
  const timeoutMs = options.timeoutMs ?? 500;
  const maybeOnAws = options.maybeOnAws ?? dmiSaysAmazon;
  return {
    method: 'aws-imds',
    async discover(ctx) {
      if (!(await maybeOnAws())) return undefined;
      let token: string;
      try {
        const response = await fetch(`${baseUrl}/latest/api/token`, {
          method: 'PUT',
          headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' },
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (!response.ok) return undefined;
        token = await response.text();
      } catch {
        return undefined; // no metadata service here
      }
      const response = await fetch(`${baseUrl}/latest/meta-data/public-ipv4`, {
        headers: { 'X-aws-ec2-metadata-token': token },
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.status === 404) return undefined; // instance without a public address
      if (!response.ok) throw new Error(`instance metadata answered HTTP ${response.status}`);
      const address = (await response.text()).trim();
      if (!isIPv4(address)) throw new Error(`instance metadata returned "${address}", not an IPv4 address`);
      return { endpoint: formatEndpoint(address, ctx.listenPort), method: 'aws-imds' };
    },
  };
}
