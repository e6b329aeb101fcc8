import type { Logger } from 'pino';
import { type Applier, type SetResult, setResult } from '../applier.js';
import { IptablesError, ValidationError } from '../errors.js';
import type { IptablesTable, SavedRule, TaggedRule } from './model.js';
import { type IptablesPlan, planTable } from './plan.js';
import type { IptablesRunner } from './runner.js';
import { parseSave } from './save-format.js';

export const DEFAULT_TAG = 'wirekube';

/**
 * `updated` are desired rules that were present but out of place and moved back on top; `skipped` are desired
 * rules whose chain does not exist (and may not be created), so nothing was done for them.
 */
export interface IptablesSetResult extends SetResult<TaggedRule, SavedRule> {
  skipped: TaggedRule[];
}

export interface IptablesRulesOptions {
  /** Comment prefix that marks a rule as ours. Default `wirekube`. */
  tag?: string;
  /** Tables whose tagged rules this applier owns (a rule no longer desired in them is removed). Default filter, nat. */
  tables?: readonly IptablesTable[];
  logger?: Logger;
}

/**
 * WireKube's iptables rules of one address family, owned by comment tag. `set(desired)` adds what is missing,
 * removes tagged rules no longer desired, moves `first` rules back on top, and never touches a rule without
 * the tag.
 */
export class IptablesRules implements Applier<readonly TaggedRule[], IptablesSetResult> {
  private readonly tag: string;
  private readonly tables: readonly IptablesTable[];

  constructor(
    private readonly runner: IptablesRunner,
    options: IptablesRulesOptions = {},
  ) {
    this.tag = options.tag ?? DEFAULT_TAG;
    this.tables = options.tables ?? ['filter', 'nat'];
    this.logger = options.logger;
  }

  private readonly logger: Logger | undefined;

  /** Every tagged rule of the table, as saved. */
  async list(table: IptablesTable): Promise<SavedRule[]> {
    const saved = parseSave(await this.runner.save(table), table);
    return saved.rules.filter((rule) => rule.comment?.startsWith(this.tag));
  }

  /** Plans without applying (for dry runs and tests). */
  async plan(desired: readonly TaggedRule[]): Promise<IptablesPlan[]> {
    this.validate(desired);
    const touched = new Set<IptablesTable>([...this.tables, ...desired.map((rule) => rule.table)]);
    const plans: IptablesPlan[] = [];
    for (const table of touched) {
      const saved = parseSave(await this.runner.save(table), table);
      plans.push(
        planTable(
          table,
          desired.filter((rule) => rule.table === table),
          saved,
          this.tag,
        ),
      );
    }
    return plans;
  }

  /**
   * Makes the tagged rules of the owned tables (plus any table `desired` uses) exactly `desired`. Without
   * iptables on the node there can be no rule of ours, so an empty desired state is then already met.
   */
  async set(desired: readonly TaggedRule[]): Promise<IptablesSetResult> {
    let plans: IptablesPlan[];
    try {
      plans = await this.plan(desired);
    } catch (error) {
      if (desired.length === 0 && error instanceof IptablesError && error.code === 'ENOENT') {
        return { ...setResult<TaggedRule, SavedRule>(), skipped: [] };
      }
      throw error;
    }
    const added: TaggedRule[] = [];
    const removed: SavedRule[] = [];
    const moved: TaggedRule[] = [];
    const skipped: TaggedRule[] = [];
    for (const plan of plans) {
      skipped.push(...plan.skipped);
      if (!plan.script) continue;
      await this.runner.restore(plan.script);
      added.push(...plan.added);
      removed.push(...plan.removed);
      moved.push(...plan.moved);
      this.logger?.info(
        {
          event: 'iptables-set',
          table: plan.table,
          added: plan.added.map((rule) => rule.comment),
          removed: plan.removed.map((rule) => rule.comment),
          moved: plan.moved.map((rule) => rule.comment),
        },
        'iptables rules updated',
      );
    }
    return { ...setResult(added, removed, moved), skipped };
  }

  private validate(desired: readonly TaggedRule[]): void {
    const problems: string[] = [];
    desired.forEach((rule, index) => {
      if (!rule.comment.startsWith(this.tag))
        problems.push(`rule[${index}]: comment must start with "${this.tag}"`);
      if (/[\n\r]/.test(rule.comment) || rule.comment.length > 256) {
        problems.push(`rule[${index}]: comment must be one line of at most 256 characters`);
      }
      if (!/^[A-Za-z0-9_.-]{1,28}$/.test(rule.chain))
        problems.push(`rule[${index}]: bad chain name ${rule.chain}`);
      if (rule.spec.some((arg) => /[\n\r]/.test(arg)))
        problems.push(`rule[${index}]: spec contains a newline`);
      if (rule.spec.includes('--comment'))
        problems.push(`rule[${index}]: put the comment in "comment", not in spec`);
    });
    if (problems.length > 0) throw new ValidationError(problems, { operation: 'iptables.reconcile' });
  }
}
