import { rt } from 'netlink';
import { NetlinkError } from '../errors.js';
import { afOf, familyOfAf, formatCidr, formatIp, hasHostBits, parseCidr, parseIp } from '../net/ip.js';
import type { Links } from './links.js';
import { call, NLM_F_CREATE, NLM_F_REPLACE, type RtnlSocket } from './socket.js';

export type RouteScope = 'universe' | 'link' | 'host';

/** A route as the caller wants it. */
export interface RouteSpec {
  /** Destination prefix (`10.0.0.5/32`, `0.0.0.0/0`); host bits must be clear. */
  dst: string;
  table: number;
  /** Output interface name. */
  dev?: string;
  /** Preferred source address (`ip route ... src`). */
  src?: string;
  gateway?: string;
  /** Route metric (RTA_PRIORITY); part of the route's identity. */
  metric?: number;
  /** Default: `link` without gateway, `universe` with one (as `ip route` does). */
  scope?: RouteScope;
  /** rtm_protocol; default 4 (`static`). */
  protocol?: number;
}

/** A route as the kernel reports it. */
export interface RouteInfo {
  dst: string;
  family: 4 | 6;
  table: number;
  dev?: string;
  oif?: number;
  src?: string;
  gateway?: string;
  metric: number;
  scope: RouteScope | number;
  protocol: number;
  /** rtm_type name in lower case (`unicast`, `local`, `blackhole`...). */
  type: string;
}

const RTPROT_STATIC = 4;
// Tables above 255 do not fit rtm_table (u8): iproute2 puts RT_TABLE_UNSPEC there and the id in RTA_TABLE.
const RT_TABLE_UNSPEC = 0;

const SCOPES: Record<RouteScope, 'UNIVERSE' | 'LINK' | 'HOST'> = {
  universe: 'UNIVERSE',
  link: 'LINK',
  host: 'HOST',
};

function scopeName(scope: rt.Route['scope']): RouteScope | number {
  if (scope === undefined || scope === 0 || scope === 'UNIVERSE') return 'universe';
  if (scope === 253 || scope === 'LINK') return 'link';
  if (scope === 254 || scope === 'HOST') return 'host';
  return typeof scope === 'number' ? scope : Number.NaN;
}

function typeName(type: rt.Route['type']): string {
  const names = [
    'unspec',
    'unicast',
    'local',
    'broadcast',
    'anycast',
    'multicast',
    'blackhole',
    'unreachable',
  ];
  if (typeof type === 'string') return type.toLowerCase();
  return names[type ?? 1] ?? String(type);
}

function protocolNumber(protocol: rt.Route['protocol']): number {
  if (typeof protocol === 'number') return protocol;
  if (protocol === undefined) return 0;
  return rt.RouteProtocol[protocol] ?? 0;
}

/** Routes in the socket's namespace, table by table. */
export class Routes {
  constructor(
    private readonly socket: RtnlSocket,
    private readonly links: Links,
  ) {}

  /** Every route of one table (both families unless `family` is given). */
  async list(table: number, family?: 4 | 6): Promise<RouteInfo[]> {
    const names = new Map((await this.links.list()).map((link) => [link.index, link.name]));
    const messages = await call({ operation: 'route.list', detail: { table } }, () =>
      this.socket.getRoutes(family ? { family: afOf(family) } : {}),
    );
    const out: RouteInfo[] = [];
    for (const { data, attrs } of messages) {
      const routeFamily = familyOfAf(data.family ?? 0);
      const routeTable = attrs.table ?? data.table ?? 0;
      if (!routeFamily || routeTable !== table) continue;
      const zero = Buffer.alloc(routeFamily === 4 ? 4 : 16);
      const route: RouteInfo = {
        dst: formatCidr({ family: routeFamily, bytes: attrs.dst ?? zero, prefix: data.dstLen ?? 0 }),
        family: routeFamily,
        table: routeTable,
        metric: attrs.priority ?? 0,
        scope: scopeName(data.scope),
        protocol: protocolNumber(data.protocol),
        type: typeName(data.type),
      };
      if (attrs.oif !== undefined) {
        route.oif = attrs.oif;
        const dev = names.get(attrs.oif);
        if (dev) route.dev = dev;
      }
      if (attrs.prefsrc) route.src = formatIp(attrs.prefsrc);
      if (attrs.gateway) route.gateway = formatIp(attrs.gateway);
      out.push(route);
    }
    return out;
  }

  /** Interface name → index from one link dump, so a batch of routes costs one dump, not one per route. */
  private async linkIndexes(operation: string): Promise<(name: string) => number> {
    const indexes = new Map((await this.links.list()).map((link) => [link.name, link.index]));
    return (name) => {
      const index = indexes.get(name);
      if (index === undefined) {
        throw new NetlinkError(`${operation} failed: no interface ${name}`, {
          operation,
          iface: name,
          errno: 19,
          code: 'ENODEV',
        });
      }
      return index;
    };
  }

  private encode(
    route: RouteSpec,
    operation: string,
    linkIndex: (name: string) => number,
  ): [rt.Route, rt.RouteAttrs] {
    const dst = parseCidr(route.dst);
    if (hasHostBits(dst)) {
      throw new NetlinkError(`${operation} failed: ${route.dst} has host bits set`, {
        operation,
        errno: 22,
        code: 'EINVAL',
        detail: { route },
      });
    }
    const attrs: rt.RouteAttrs = { table: route.table };
    if (dst.prefix > 0) attrs.dst = dst.bytes;
    if (route.dev !== undefined) attrs.oif = linkIndex(route.dev);
    if (route.src !== undefined) attrs.prefsrc = parseIp(route.src).bytes;
    if (route.gateway !== undefined) attrs.gateway = parseIp(route.gateway).bytes;
    if (route.metric !== undefined) attrs.priority = route.metric;
    const scope = route.scope ?? (route.gateway ? 'universe' : 'link');
    return [
      {
        family: afOf(dst.family),
        dstLen: dst.prefix,
        table: route.table < 256 ? route.table : RT_TABLE_UNSPEC,
        protocol: route.protocol ?? RTPROT_STATIC,
        scope: SCOPES[scope],
        type: 'UNICAST',
      },
      attrs,
    ];
  }

  /** `ip route replace`: creates the route or overwrites the one with the same destination and metric. */
  async replace(route: RouteSpec): Promise<void> {
    await this.replaceAll([route]);
  }

  /** replace() for many routes; every route is validated and resolved before the first is sent. */
  async replaceAll(routes: readonly RouteSpec[]): Promise<void> {
    const linkIndex = await this.linkIndexes('route.replace');
    const encoded = routes.map(
      (route) => [route, ...this.encode(route, 'route.replace', linkIndex)] as const,
    );
    for (const [route, data, attrs] of encoded) {
      await call({ operation: 'route.replace', iface: route.dev, detail: { route } }, () =>
        this.socket.newRoute(data, attrs, { flags: NLM_F_CREATE | NLM_F_REPLACE }),
      );
    }
  }

  /** Deletes a route (matched on destination, table and metric); false when it did not exist. */
  async delete(route: Pick<RouteSpec, 'dst' | 'table' | 'metric'>): Promise<boolean> {
    const dst = formatCidr(parseCidr(route.dst));
    const metric = route.metric ?? 0;
    const listed = (await this.list(route.table)).filter((r) => r.dst === dst && r.metric === metric);
    return (await this.deleteListed(listed)) > 0;
  }

  /**
   * Deletes routes as list() reported them, without listing again; one that vanished meanwhile (ESRCH) is
   * not an error. Returns how many were deleted.
   */
  async deleteListed(routes: readonly Pick<RouteSpec, 'dst' | 'table' | 'metric'>[]): Promise<number> {
    let deleted = 0;
    for (const route of routes) {
      const [data, attrs] = this.encode(
        { dst: route.dst, table: route.table, metric: route.metric },
        'route.delete',
        () => 0,
      );
      try {
        // Wildcards for the kernel's match: RT_SCOPE_NOWHERE any scope, protocol 0 any protocol, RTN_UNSPEC any
        // type (so a blackhole someone put in our table goes too).
        await call({ operation: 'route.delete', detail: { route } }, () =>
          this.socket.delRoute(
            { ...data, scope: 'NOWHERE', protocol: 0 as rt.RouteProtocol, type: 'UNSPEC' },
            attrs,
          ),
        );
        deleted++;
      } catch (error) {
        if ((error as NetlinkError).code !== 'ESRCH') throw error;
      }
    }
    return deleted;
  }
}
