import { describe, expect, it } from 'vitest';
import { planRoutes } from '../../src/rtnl/route-table.js';
import type { RouteInfo } from '../../src/rtnl/routes.js';
import { planRules, type RuleInfo } from '../../src/rtnl/rules.js';

const route = (dst: string, extra: Partial<RouteInfo> = {}): RouteInfo => ({
  dst,
  family: 4,
  table: 22347,
  dev: 'wire_kube',
  src: '10.0.0.1',
  metric: 0,
  scope: 'link',
  protocol: 4,
  type: 'unicast',
  ...extra,
});

describe('route table plan', () => {
  const desired = [
    { dst: '10.0.0.2/32', table: 22347, dev: 'wire_kube', src: '10.0.0.1' },
    { dst: '10.0.0.3/32', table: 22347, dev: 'wire_kube', src: '10.0.0.1' },
  ];

  it('adds what is missing, fixes what differs, removes what is not desired', () => {
    const plan = planRoutes(desired, [route('10.0.0.2/32', { src: '10.0.0.9' }), route('10.0.0.4/32')]);
    expect(plan.add.map((r) => r.dst)).toEqual(['10.0.0.3/32']);
    expect(plan.update.map((r) => r.dst)).toEqual(['10.0.0.2/32']);
    expect(plan.remove.map((r) => r.dst)).toEqual(['10.0.0.4/32']);
  });

  it('is empty when the table already matches', () => {
    expect(planRoutes(desired, [route('10.0.0.3/32'), route('10.0.0.2/32')])).toEqual({
      add: [],
      update: [],
      remove: [],
    });
  });
});

describe('rule plan', () => {
  const rule = (priority: number, table: number, extra: Partial<RuleInfo> = {}): RuleInfo => ({
    family: 4,
    priority,
    table,
    invert: false,
    action: 'lookup',
    ...extra,
  });
  const owned = new Set([199, 200]);
  const desired = [
    { priority: 200, table: 22347 },
    { priority: 199, table: 254, fwmark: 0x574b },
  ];

  it('re-adds flushed rules, removes stale and duplicate ones at owned priorities, ignores the rest', () => {
    const actual = [
      rule(0, 255),
      rule(200, 22347),
      rule(200, 22347),
      rule(199, 254, { fwmark: 0x1234, fwmask: 0xffffffff }),
      rule(32766, 254),
    ];
    const plan = planRules(desired, actual, owned);
    expect(plan.add).toEqual([{ priority: 199, table: 254, fwmark: 0x574b }]);
    expect(plan.remove).toEqual([rule(200, 22347), rule(199, 254, { fwmark: 0x1234, fwmask: 0xffffffff })]);
  });

  it('is empty when the rules are in place', () => {
    const actual = [rule(200, 22347), rule(199, 254, { fwmark: 0x574b, fwmask: 0xffffffff })];
    expect(planRules(desired, actual, owned)).toEqual({ add: [], remove: [] });
  });

  it('tells suppress_prefixlength rules apart', () => {
    const actual = [rule(200, 254, { suppressPrefixLength: 0 })];
    const plan = planRules([{ priority: 200, table: 254, suppressPrefixLength: 0 }], actual, owned);
    expect(plan).toEqual({ add: [], remove: [] });
    expect(planRules([{ priority: 200, table: 254 }], actual, owned).remove).toHaveLength(1);
  });
});
