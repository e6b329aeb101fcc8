import type { Logger } from 'pino';
import { type Applier, type SetResult, setResult } from '../applier.js';
import { canonicalCidr, formatIp, parseIp } from '../net/ip.js';
import type { RouteInfo, RouteSpec, Routes } from './routes.js';

export interface RoutePlan {
  /** Desired routes the table lacks (`ip route replace` creates them). */
  add: RouteSpec[];
  /** Desired routes present with other attributes (`ip route replace` overwrites them). */
  update: RouteSpec[];
  /** Routes in the table that nothing desires. */
  remove: RouteInfo[];
}

const canonicalIp = (text: string | undefined) =>
  text === undefined ? undefined : formatIp(parseIp(text).bytes);

/** Destination + metric: what the kernel uses to tell two routes of one table apart. */
function routeKey(dst: string, metric: number | undefined): string {
  return `${canonicalCidr(dst)} metric ${metric ?? 0}`;
}

function matches(desired: RouteSpec, actual: RouteInfo): boolean {
  const scope = desired.scope ?? (desired.gateway ? 'universe' : 'link');
  return (
    (desired.dev === undefined || desired.dev === actual.dev) &&
    canonicalIp(desired.src) === actual.src &&
    canonicalIp(desired.gateway) === actual.gateway &&
    scope === actual.scope &&
    (desired.protocol ?? 4) === actual.protocol &&
    actual.type === 'unicast'
  );
}

/** Pure: what to change so that the table holds exactly `desired`. */
export function planRoutes(desired: readonly RouteSpec[], actual: readonly RouteInfo[]): RoutePlan {
  const actualByKey = new Map(actual.map((route) => [routeKey(route.dst, route.metric), route]));
  const wanted = new Set<string>();
  const add: RouteSpec[] = [];
  const update: RouteSpec[] = [];
  for (const route of desired) {
    const key = routeKey(route.dst, route.metric);
    wanted.add(key);
    const current = actualByKey.get(key);
    if (!current) add.push(route);
    else if (!matches(route, current)) update.push(route);
  }
  const remove = actual.filter((route) => !wanted.has(routeKey(route.dst, route.metric)));
  return { add, update, remove };
}

/** Routes added and overwritten (desired), removed (as found). */
export type RouteSetResult = SetResult<RouteSpec, RouteInfo>;

/**
 * One routing table WireKube owns (22347): `set(desired)` re-adds what others deleted, fixes what they changed
 * and removes what is no longer desired. Every route in the table is ours; no other table is touched.
 */
export class RouteTable implements Applier<readonly RouteSpec[], RouteSetResult> {
  constructor(
    private readonly routes: Routes,
    readonly table: number,
    private readonly logger?: Logger,
  ) {}

  list(): Promise<RouteInfo[]> {
    return this.routes.list(this.table);
  }

  async set(desired: readonly RouteSpec[]): Promise<RouteSetResult> {
    const foreign = desired.find((route) => route.table !== this.table);
    if (foreign)
      throw new RangeError(`route ${foreign.dst} is for table ${foreign.table}, not ${this.table}`);
    const plan = planRoutes(desired, await this.list());
    await this.routes.deleteListed(plan.remove);
    for (const route of plan.remove) {
      this.logger?.info({ event: 'route-removed', table: this.table, dst: route.dst, dev: route.dev });
    }
    const replace = [...plan.add, ...plan.update];
    await this.routes.replaceAll(replace);
    for (const route of replace) {
      this.logger?.info({
        event: 'route-replaced',
        table: this.table,
        dst: route.dst,
        dev: route.dev,
        src: route.src,
      });
    }
    return setResult(plan.add, plan.remove, plan.update);
  }
}
