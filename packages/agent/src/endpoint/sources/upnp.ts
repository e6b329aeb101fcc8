import { createSocket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { type EndpointSource, formatEndpoint } from '../types.js';

const SSDP_ADDRESS = '239.255.255.250';
const SSDP_PORT = 1900;
const IGD = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';
const WAN_SERVICES = [
  'urn:schemas-upnp-org:service:WANIPConnection:2',
  'urn:schemas-upnp-org:service:WANIPConnection:1',
  'urn:schemas-upnp-org:service:WANPPPConnection:1',
];

export interface UpnpOptions {
  /** Finds the gateway's device description URL; default: one SSDP M-SEARCH on the LAN. */
  search?: () => Promise<string | undefined>;
  /** The LAN address the gateway should forward to; default: the local address facing the gateway. */
  localAddress?: (gateway: URL) => Promise<string>;
  /** Seconds. The endpoint asks to be re-discovered (which renews the mapping) at half of it. */
  leaseSeconds?: number;
  timeoutMs?: number;
}

/**
 * A UDP port mapping for the WireGuard port on a UPnP Internet Gateway Device, and the router's external
 * address. Routers without UPnP (most clouds, most lab routers) simply do not answer the search: the source
 * then returns undefined quickly and the next method is tried.
 */
export function upnpSource(options: UpnpOptions = {}): EndpointSource {
  const timeoutMs = options.timeoutMs ?? 1_500;
  const search = options.search ?? (() => ssdpSearch(timeoutMs));
  const localAddress = options.localAddress ?? localAddressTowards;
  const lease = options.leaseSeconds ?? 3_600;
  return {
    method: 'upnp',
    async discover(ctx) {
      const location = await search();
      if (!location) return undefined;
      const service = await wanService(new URL(location), timeoutMs);
      const client = await localAddress(service.controlUrl);
      await soap(service, 'AddPortMapping', timeoutMs, {
        NewRemoteHost: '',
        NewExternalPort: String(ctx.listenPort),
        NewProtocol: 'UDP',
        NewInternalPort: String(ctx.listenPort),
        NewInternalClient: client,
        NewEnabled: '1',
        NewPortMappingDescription: 'wirekube',
        NewLeaseDuration: String(lease),
      });
      const reply = await soap(service, 'GetExternalIPAddress', timeoutMs, {});
      const external = xmlValue(reply, 'NewExternalIPAddress');
      if (!external || !isIPv4(external))
        throw new Error(`UPnP gateway reported external address "${external ?? ''}"`);
      return {
        endpoint: formatEndpoint(external, ctx.listenPort),
        method: 'upnp',
        // Renewed at half the lease: a lost renewal still leaves time for another try before it lapses.
        refreshWithinMs: (lease * 1000) / 2,
      };
    },
  };
}

interface WanService {
  type: string;
  controlUrl: URL;
}

async function wanService(location: URL, timeoutMs: number): Promise<WanService> {
  const response = await fetch(location, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`UPnP description ${location.href}: HTTP ${response.status}`);
  const xml = await response.text();
  const base = xmlValue(xml, 'URLBase') || location.href;
  for (const block of xml.split(/<service>/i).slice(1)) {
    const type = xmlValue(block, 'serviceType');
    const control = xmlValue(block, 'controlURL');
    if (type && control && WAN_SERVICES.includes(type)) return { type, controlUrl: new URL(control, base) };
  }
  throw new Error(`UPnP gateway at ${location.host} offers no WAN IP/PPP connection service`);
}

async function soap(
  service: WanService,
  action: string,
  timeoutMs: number,
  args: Record<string, string>,
): Promise<string> {
  const body =
    '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" ' +
    's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>' +
    `<u:${action} xmlns:u="${service.type}">` +
    Object.entries(args)
      .map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`)
      .join('') +
    `</u:${action}></s:Body></s:Envelope>`;
  const response = await fetch(service.controlUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: `"${service.type}#${action}"` },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  if (!response.ok) {
    const detail = xmlValue(text, 'errorDescription') ?? `HTTP ${response.status}`;
    throw new Error(`UPnP ${action} refused: ${detail}`);
  }
  return text;
}

function xmlValue(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<(?:[A-Za-z0-9]+:)?${tag}>([^<]*)</(?:[A-Za-z0-9]+:)?${tag}>`, 'i').exec(xml);
  return match?.[1]?.trim();
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One SSDP M-SEARCH for an IGD; the first answer's LOCATION, or undefined after the timeout. */
function ssdpSearch(timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    const finish = (location?: string) => {
      clearTimeout(timer);
      socket.close();
      resolve(location);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on('error', () => finish(undefined));
    socket.on('message', (message) => {
      const location = /^location:\s*(\S+)/im.exec(message.toString('utf8'))?.[1];
      if (location) finish(location);
    });
    const request = [
      'M-SEARCH * HTTP/1.1',
      `HOST: ${SSDP_ADDRESS}:${SSDP_PORT}`,
      'MAN: "ssdp:discover"',
      'MX: 1',
      `ST: ${IGD}`,
      '',
      '',
    ].join('\r\n');
    socket.bind(0, () =>
      socket.send(request, SSDP_PORT, SSDP_ADDRESS, (error) => error && finish(undefined)),
    );
  });
}

/** The local address the kernel would use towards the gateway (a connected UDP socket sends nothing). */
function localAddressTowards(gateway: URL): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.on('error', (error) => {
      socket.close();
      reject(error);
    });
    socket.connect(Number(gateway.port || 80), gateway.hostname, () => {
      const { address } = socket.address();
      socket.close();
      resolve(address);
    });
  });
}
