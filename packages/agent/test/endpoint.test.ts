import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { discoverEndpoint, NoEndpointError } from '../src/endpoint/discover.js';
import { annotationSource } from '../src/endpoint/sources/annotation.js';
import { awsImdsSource } from '../src/endpoint/sources/aws-imds.js';
import { endpointSources } from '../src/endpoint/sources/index.js';
import { internalSource } from '../src/endpoint/sources/internal.js';
import { ipv6Source } from '../src/endpoint/sources/ipv6.js';
import { stunSource } from '../src/endpoint/sources/stun.js';
import { upnpSource } from '../src/endpoint/sources/upnp.js';
import type { DiscoveryContext, EndpointSource } from '../src/endpoint/types.js';

function ctx(overrides: Partial<DiscoveryContext> = {}): DiscoveryContext {
  return {
    listenPort: 51820,
    nodeAnnotations: {},
    nodeAddresses: [{ type: 'InternalIP', address: '10.1.0.2' }],
    hostAddresses: ['10.1.0.2', 'fe80::1', 'fd00::2'],
    stun: { observations: [], portInUse: false, natType: '' },
    ...overrides,
  };
}

const answers = (port1: number, port2: number) => [
  { server: 's1', mapped: { address: '203.0.113.7', port: port1 } },
  { server: 's2', mapped: { address: '203.0.113.7', port: port2 } },
];

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('endpoint sources', () => {
  it('annotation: ip:port as given, a bare IP takes the listen port, garbage is an error', async () => {
    const with_ = (value: string) => ctx({ nodeAnnotations: { 'wirekube.io/endpoint': value } });
    expect(await annotationSource.discover(with_('198.51.100.4:4500'))).toEqual({
      endpoint: '198.51.100.4:4500',
      method: 'annotation',
    });
    expect(await annotationSource.discover(with_('198.51.100.4'))).toEqual({
      endpoint: '198.51.100.4:51820',
      method: 'annotation',
    });
    expect(await annotationSource.discover(with_('2001:db8::4'))).toEqual({
      endpoint: '[2001:db8::4]:51820',
      method: 'annotation',
    });
    expect(await annotationSource.discover(ctx())).toBeUndefined();
    await expect(annotationSource.discover(with_('my router'))).rejects.toThrow('is not ip:port');
  });

  it('ipv6: only a global unicast address counts', async () => {
    expect(await ipv6Source.discover(ctx())).toBeUndefined();
    expect(await ipv6Source.discover(ctx({ hostAddresses: ['10.1.0.2', '2001:db8:1::5'] }))).toEqual({
      endpoint: '[2001:db8:1::5]:51820',
      method: 'ipv6',
    });
  });

  it('stun: cone keeps the mapped port, symmetric publishes the listen port (seed)', async () => {
    expect(
      await stunSource.discover(
        ctx({ stun: { observations: answers(51820, 51820), portInUse: false, natType: 'cone' } }),
      ),
    ).toEqual({
      endpoint: '203.0.113.7:51820',
      method: 'stun',
    });
    expect(
      await stunSource.discover(
        ctx({ stun: { observations: answers(40001, 40002), portInUse: false, natType: 'symmetric' } }),
      ),
    ).toEqual({
      endpoint: '203.0.113.7:51820',
      method: 'stun',
    });
  });

  it('stun: when the preserved interface holds the port, the endpoint in the CR is kept (seed)', async () => {
    // The ephemeral port's answers confirm the public IP; their port is not WireGuard's, so the CR's stays.
    const held = { observations: answers(40001, 40001), portInUse: true, natType: 'cone' as const };
    expect(
      await stunSource.discover(
        ctx({ stun: held, previous: { endpoint: '203.0.113.7:51820', method: 'stun' } }),
      ),
    ).toEqual({
      endpoint: '203.0.113.7:51820',
      method: 'stun',
    });
    const silent = {
      observations: [{ server: 's1', error: 'no answer after 3 attempts' }],
      portInUse: true,
      natType: '' as const,
    };
    expect(
      await stunSource.discover(
        ctx({ stun: silent, previous: { endpoint: '203.0.113.9:51820', method: 'stun' } }),
      ),
    ).toEqual({
      endpoint: '203.0.113.9:51820',
      method: 'stun',
    });
    expect(await stunSource.discover(ctx({ stun: silent }))).toBeUndefined();
  });

  it('internal: the InternalIP, else an ExternalIP, else a host address', async () => {
    expect(await internalSource.discover(ctx())).toEqual({ endpoint: '10.1.0.2:51820', method: 'internal' });
    expect(
      await internalSource.discover(
        ctx({ nodeAddresses: [{ type: 'ExternalIP', address: '198.51.100.3' }] }),
      ),
    ).toEqual({
      endpoint: '198.51.100.3:51820',
      method: 'internal',
    });
    expect(await internalSource.discover(ctx({ nodeAddresses: [], hostAddresses: [] }))).toBeUndefined();
  });

  it('aws-imds: IMDSv2 token then public-ipv4; no public address or no service means not applicable', async () => {
    const seen: string[] = [];
    let publicIp: string | undefined = '198.51.100.77';
    const base = await serve((req, res) => {
      seen.push(
        `${req.method} ${req.url} ${req.headers['x-aws-ec2-metadata-token'] ?? req.headers['x-aws-ec2-metadata-token-ttl-seconds'] ?? ''}`,
      );
      if (req.method === 'PUT' && req.url === '/latest/api/token') return res.end('tok-1');
      if (
        req.url === '/latest/meta-data/public-ipv4' &&
        req.headers['x-aws-ec2-metadata-token'] === 'tok-1'
      ) {
        if (!publicIp) {
          res.statusCode = 404;
          return res.end();
        }
        return res.end(publicIp);
      }
      res.statusCode = 401;
      res.end();
    });
    const source = awsImdsSource({ baseUrl: base, maybeOnAws: async () => true });
    expect(await source.discover(ctx())).toEqual({ endpoint: '198.51.100.77:51820', method: 'aws-imds' });
    expect(seen).toEqual(['PUT /latest/api/token 60', 'GET /latest/meta-data/public-ipv4 tok-1']);
    publicIp = undefined;
    expect(await source.discover(ctx())).toBeUndefined();
    expect(
      await awsImdsSource({ baseUrl: base, maybeOnAws: async () => false }).discover(ctx()),
    ).toBeUndefined();
    const nothing = awsImdsSource({
      baseUrl: 'http://127.0.0.1:1',
      maybeOnAws: async () => true,
      timeoutMs: 200,
    });
    expect(await nothing.discover(ctx())).toBeUndefined();
  });

  it('upnp: maps the WireGuard port on the gateway, reads its external address, renews on every run', async () => {
    const actions: string[] = [];
    const base = await serve((req, res) => {
      if (req.url === '/rootDesc.xml') {
        return res.end(
          '<root><device><serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/l3f</controlURL></service>' +
            '<service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/ctl/IPConn</controlURL></service></serviceList></device></root>',
        );
      }
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        const action = String(req.headers['soapaction']).replace(/.*#|"/g, '');
        actions.push(
          `${req.url} ${action} ${/<NewExternalPort>(\d+)/.exec(body)?.[1] ?? ''} ${/<NewInternalClient>([^<]+)/.exec(body)?.[1] ?? ''}`,
        );
        res.end(
          action === 'GetExternalIPAddress'
            ? '<s:Envelope><s:Body><u:R><NewExternalIPAddress>203.0.113.40</NewExternalIPAddress></u:R></s:Body></s:Envelope>'
            : '<ok/>',
        );
      });
    });
    const source = upnpSource({
      search: async () => `${base}/rootDesc.xml`,
      localAddress: async () => '10.1.0.2',
    });
    expect(await source.discover(ctx())).toEqual({
      endpoint: '203.0.113.40:51820',
      method: 'upnp',
      refreshWithinMs: 1_800_000,
    });
    await source.discover(ctx());
    expect(actions).toEqual([
      '/ctl/IPConn AddPortMapping 51820 10.1.0.2',
      '/ctl/IPConn GetExternalIPAddress  ',
      '/ctl/IPConn AddPortMapping 51820 10.1.0.2',
      '/ctl/IPConn GetExternalIPAddress  ',
    ]);
    expect(await upnpSource({ search: async () => undefined }).discover(ctx())).toBeUndefined();
  });
});

describe('discoverEndpoint', () => {
  const fixed = (method: EndpointSource['method'], endpoint?: string): EndpointSource => ({
    method,
    discover: async () => (endpoint ? { endpoint, method } : undefined),
  });
  const broken: EndpointSource = {
    method: 'aws-imds',
    discover: async () => Promise.reject(new Error('metadata timeout')),
  };

  it('takes the first source that finds something, in precedence order, skipping failures', async () => {
    expect(
      await discoverEndpoint(
        [
          fixed('annotation'),
          broken,
          fixed('stun', '203.0.113.7:51820'),
          fixed('internal', '10.1.0.2:51820'),
        ],
        ctx(),
      ),
    ).toEqual({
      endpoint: '203.0.113.7:51820',
      method: 'stun',
    });
  });

  it('says what each method did when none finds an endpoint', async () => {
    const error = await discoverEndpoint([fixed('annotation'), broken], ctx()).catch((e) => e);
    expect(error).toBeInstanceOf(NoEndpointError);
    expect((error as Error).message).toBe(
      'no endpoint discovered: annotation: not applicable; aws-imds: metadata timeout',
    );
  });

  it('builds the sources in the configured order', () => {
    expect(endpointSources(['internal', 'stun', 'annotation']).map((s) => s.method)).toEqual([
      'internal',
      'stun',
      'annotation',
    ]);
  });
});
