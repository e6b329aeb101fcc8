import type { Logger } from 'pino';
import { ValidationError } from '../errors.js';
import type { IptablesTable, SavedRule, TaggedRule } from './model.js';
import { type IptablesPlan, planTable } from './plan.js';
import type { IptablesRunner } from './runner.js';
import { parseSave } from './save-format.js';

export const DEFAULT_TAG = 'wirekube';

export interface IptablesReconcileResult {
  changed: boolean;
  added: TaggedRule[];
  removed: SavedRule[];
  moved: TaggedRule[];
  skipped: TaggedRule[];
}

/**
 * WireKube's iptables rules, owned by comment tag. `reconcile(desired)` adds what is missing, removes tagged
 * rules no longer desired, moves `first` rules back on top, and never touches a rule without the tag.
 */
export class IptablesRules {
  private readonly tag: string;

  constructor(
    private readonly runner: IptablesRunner,
    options: { tag?: string; logger?: Logger } = {},
  ) {
    this.tag = options.tag ?? DEFAULT_TAG;
    this.logger = options.logger;
  }

  private readonly logger: Logger | undefined;

  /** Every tagged rule of the table, as saved. */
  async list(table: IptablesTable): Promise<SavedRule[]> {
    const saved = parseSave(await this.runner.save(table), table);
    return saved.rules.filter((rule) => rule.comment?.startsWith(this.tag));
  }

  /** Plans without applying (for dry runs and tests). */
  async plan(desired: readonly TaggedRule[], tables?: readonly IptablesTable[]): Promise<IptablesPlan[]> {
    this.validate(desired);
    const touched = new Set<IptablesTable>([...(tables ?? []), ...desired.map((rule) => rule.table)]);
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
   * Makes the tagged rules of `tables` (default: the tables `desired` uses, plus filter and nat so that a
   * rule no longer desired in them is removed) exactly `desired`.
   */
  async reconcile(
    desired: readonly TaggedRule[],
    tables: readonly IptablesTable[] = ['filter', 'nat'],
  ): Promise<IptablesReconcileResult> {
    const result: IptablesReconcileResult = {
      changed: false,
      added: [],
      removed: [],
      moved: [],
      skipped: [],
    };
    for (const plan of await this.plan(desired, tables)) {
      result.skipped.push(...plan.skipped);
      if (!plan.script) continue;
      await this.runner.restore(plan.script);
      result.changed = true;
      result.added.push(...plan.added);
      result.removed.push(...plan.removed);
      result.moved.push(...plan.moved);
      this.logger?.info({
        event: 'iptables.reconciled',
        table: plan.table,
        added: plan.added.map((rule) => rule.comment),
        removed: plan.removed.map((rule) => rule.comment),
        moved: plan.moved.map((rule) => rule.comment),
      });
    }
    return result;
  }

  /** Removes every tagged rule of the given tables (cleanup job). */
  removeAll(tables: readonly IptablesTable[] = ['filter', 'nat']): Promise<IptablesReconcileResult> {
    return this.reconcile([], tables);
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
