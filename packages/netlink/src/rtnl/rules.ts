import type { rt } from 'netlink';
import type { Logger } from 'pino';
import { type Applier, type SetResult, setResult } from '../applier.js';
import { afOf, canonicalCidr, familyOfAf, formatCidr, parseCidr } from '../net/ip.js';
import { LITTLE_ENDIAN, u32 } from '../nla/attributes.js';
import { call, NLM_F_CREATE, NLM_F_EXCL, type RtnlSocket } from './socket.js';

/** A policy routing rule (`ip rule`). Only `lookup` rules: that is all WireKube installs. */
export interface RuleSpec {
  family?: 4 | 6;
  priority: number;
  /** Table to look up. */
  table: number;
  fwmark?: number;
  /** Default 0xffffffff when fwmark is set. */
  fwmask?: number;
  /** `not fwmark ...` and similar: invert the selector. */
  invert?: boolean;
  /** Ignore lookups that hit a route with a prefix this short or shorter (`suppress_prefixlength`). */
  suppressPrefixLength?: number;
  src?: string;
  dst?: string;
}

export interface RuleInfo extends Required<Pick<RuleSpec, 'family' | 'priority' | 'table'>> {
  fwmark?: number;
  fwmask?: number;
  invert: boolean;
  suppressPrefixLength?: number;
  src?: string;
  dst?: string;
  action: string;
}

// FRA_SUPPRESS_PREFIXLEN is a u32 whose "unset" value is -1.
const SUPPRESS_UNSET = 0xffffffff;
// FR_ACT_TO_TBL, and RT_TABLE_UNSPEC in the header when the id only fits FRA_TABLE.
const ACTION_LOOKUP = 'toTbl';

function readU32(buffer: Buffer): number {
  return LITTLE_ENDIAN ? buffer.readUInt32LE(0) : buffer.readUInt32BE(0);
}

function actionName(action: rt.Rule['action']): string {
  const names = ['unspec', 'lookup', 'goto', 'nop', 'res3', 'res4', 'blackhole', 'unreachable', 'prohibit'];
  if (action === ACTION_LOOKUP || action === 1) return 'lookup';
  if (typeof action === 'number') return names[action] ?? String(action);
  return String(action ?? 'unspec');
}

/** Canonical text of a rule, used to compare desired and actual. */
export function ruleKey(rule: RuleSpec | RuleInfo): string {
  const parts = [`v${rule.family ?? 4}`, `pref ${rule.priority}`];
  if ('action' in rule && rule.action !== 'lookup') parts.push(rule.action);
  if (rule.invert) parts.push('not');
  if (rule.src) parts.push(`from ${canonicalCidr(rule.src)}`);
  if (rule.dst) parts.push(`to ${canonicalCidr(rule.dst)}`);
  if (rule.fwmark !== undefined) parts.push(`fwmark ${rule.fwmark}/${rule.fwmask ?? SUPPRESS_UNSET}`);
  parts.push(`lookup ${rule.table}`);
  if (rule.suppressPrefixLength !== undefined)
    parts.push(`suppress_prefixlength ${rule.suppressPrefixLength}`);
  return parts.join(' ');
}

/** Policy routing rules in the socket's namespace. */
export class Rules {
  constructor(private readonly socket: RtnlSocket) {}

  async list(family?: 4 | 6): Promise<RuleInfo[]> {
    const messages = await call({ operation: 'rule.list' }, () =>
      this.socket.getRules(family ? { family: afOf(family) } : {}),
    );
    const out: RuleInfo[] = [];
    for (const { data, attrs } of messages) {
      const ruleFamily = familyOfAf(data.family ?? 0);
      if (!ruleFamily) continue;
      const rule: RuleInfo = {
        family: ruleFamily,
        priority: attrs.priority ?? 0,
        table: attrs.table ?? data.table ?? 0,
        invert: data.flags?.invert === true,
        action: actionName(data.action),
      };
      if (attrs.fwmark !== undefined) {
        rule.fwmark = attrs.fwmark;
        rule.fwmask = attrs.fwmask ?? SUPPRESS_UNSET;
      }
      if (attrs.suppressPrefixlen) {
        const value = readU32(attrs.suppressPrefixlen);
        if (value !== SUPPRESS_UNSET) rule.suppressPrefixLength = value;
      }
      if (attrs.src)
        rule.src = formatCidr({ family: ruleFamily, bytes: attrs.src, prefix: data.srcLen ?? 0 });
      if (attrs.dst)
        rule.dst = formatCidr({ family: ruleFamily, bytes: attrs.dst, prefix: data.dstLen ?? 0 });
      out.push(rule);
    }
    return out;
  }

  private encode(rule: RuleSpec): [rt.Rule, rt.RuleAttrs] {
    const family = rule.family ?? 4;
    const data: rt.Rule = {
      family: afOf(family),
      table: rule.table < 256 ? rule.table : 0,
      action: ACTION_LOOKUP,
      flags: rule.invert ? { invert: true } : {},
    };
    const attrs: rt.RuleAttrs = { priority: rule.priority, table: rule.table };
    if (rule.fwmark !== undefined) {
      attrs.fwmark = rule.fwmark;
      attrs.fwmask = rule.fwmask ?? SUPPRESS_UNSET;
    }
    if (rule.suppressPrefixLength !== undefined) attrs.suppressPrefixlen = u32(rule.suppressPrefixLength);
    if (rule.src) {
      const src = parseCidr(rule.src);
      data.srcLen = src.prefix;
      attrs.src = src.bytes;
    }
    if (rule.dst) {
      const dst = parseCidr(rule.dst);
      data.dstLen = dst.prefix;
      attrs.dst = dst.bytes;
    }
    return [data, attrs];
  }

  /** Adds a rule; false when an identical rule is already installed. */
  async add(rule: RuleSpec): Promise<boolean> {
    const key = ruleKey(rule);
    if ((await this.list(rule.family ?? 4)).some((r) => ruleKey(r) === key)) return false;
    const [data, attrs] = this.encode(rule);
    await call({ operation: 'rule.add', detail: { rule: key } }, () =>
      this.socket.newRule(data, attrs, { flags: NLM_F_CREATE | NLM_F_EXCL }),
    );
    return true;
  }

  /** Deletes one rule matching exactly; false when there is none. */
  async delete(rule: RuleSpec | RuleInfo): Promise<boolean> {
    const key = ruleKey(rule);
    if (!(await this.list(rule.family ?? 4)).some((r) => ruleKey(r) === key)) return false;
    const [data, attrs] = this.encode(rule);
    await call({ operation: 'rule.delete', detail: { rule: key } }, () => this.socket.delRule(data, attrs));
    return true;
  }
}

export interface RulePlan {
  add: RuleSpec[];
  remove: RuleInfo[];
}

/**
 * Pure: rules to add and remove so that, among the rules at `ownedPriorities`, exactly `desired` exist.
 * Rules at other priorities belong to someone else and are never listed for removal.
 */
export function planRules(
  desired: readonly RuleSpec[],
  actual: readonly RuleInfo[],
  ownedPriorities: ReadonlySet<number>,
): RulePlan {
  const wanted = new Map(desired.map((rule) => [ruleKey(rule), rule]));
  const present = new Set<string>();
  const remove: RuleInfo[] = [];
  for (const rule of actual) {
    if (!ownedPriorities.has(rule.priority)) continue;
    const key = ruleKey(rule);
    // A duplicate of a desired rule (someone added it twice) is removed too: one copy is enough.
    if (wanted.has(key) && !present.has(key)) present.add(key);
    else remove.push(rule);
  }
  const add = [...wanted].filter(([key]) => !present.has(key)).map(([, rule]) => rule);
  return { add, remove };
}

/**
 * The rules WireKube owns, identified by priority (200 → table 22347; the fwmark rule; suppress_prefixlength):
 * `set(desired)` re-adds rules another daemon flushed and removes ours that are no longer desired.
 */
/** Rules added (desired) and removed (as found); a rule is never changed in place, so `updated` is empty. */
export type RuleSetResult = SetResult<RuleSpec, RuleInfo, never>;

export class RuleSet implements Applier<readonly RuleSpec[], RuleSetResult> {
  private readonly owned: ReadonlySet<number>;

  constructor(
    private readonly rules: Rules,
    ownedPriorities: readonly number[],
    private readonly logger?: Logger,
  ) {
    this.owned = new Set(ownedPriorities);
  }

  async set(desired: readonly RuleSpec[]): Promise<RuleSetResult> {
    const stray = desired.find((rule) => !this.owned.has(rule.priority));
    if (stray) throw new RangeError(`rule priority ${stray.priority} is not one this RuleSet owns`);
    const plan = planRules(desired, await this.rules.list(), this.owned);
    for (const rule of plan.remove) {
      await this.rules.delete(rule);
      this.logger?.info({ event: 'rule-removed', rule: ruleKey(rule) });
    }
    for (const rule of plan.add) {
      await this.rules.add(rule);
      this.logger?.info({ event: 'rule-added', rule: ruleKey(rule) });
    }
    return setResult<RuleSpec, RuleInfo, never>(plan.add, plan.remove);
  }
}
