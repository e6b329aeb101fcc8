import {
  BUILTIN_CHAINS,
  type IptablesTable,
  type SavedRule,
  type SavedTable,
  type TaggedRule,
} from './model.js';
import { normalizeArgs, renderRuleArgs, ruleArgs } from './save-format.js';

export interface IptablesPlan {
  table: IptablesTable;
  /** iptables-restore --noflush input; empty when nothing must change. */
  script: string;
  added: TaggedRule[];
  removed: SavedRule[];
  /** Desired rules present but out of place, deleted and re-inserted at the top. */
  moved: TaggedRule[];
  /** Desired rules whose chain does not exist (and may not be created). */
  skipped: TaggedRule[];
  kept: number;
}

const sameRule = (rule: TaggedRule, saved: SavedRule): boolean =>
  saved.chain === rule.chain &&
  saved.comment === rule.comment &&
  normalizeArgs(saved.args).join('\u0000') === normalizeArgs(rule.spec).join('\u0000');

/**
 * Pure: the iptables-restore script that makes the tagged rules of one table exactly `desired`. Rules whose
 * comment does not start with `tag` are never deleted, moved or rewritten.
 */
export function planTable(
  table: IptablesTable,
  desired: readonly TaggedRule[],
  saved: SavedTable,
  tag: string,
): IptablesPlan {
  const plan: IptablesPlan = { table, script: '', added: [], removed: [], moved: [], skipped: [], kept: 0 };
  const lines: string[] = [];
  const owned = saved.rules.filter((rule) => rule.comment?.startsWith(tag));
  const used = new Set<SavedRule>();
  const newChains = new Set<string>();
  const inserts: string[] = [];
  const firstRank = new Map<string, number>();

  for (const rule of desired) {
    const chainExists = saved.chains.has(rule.chain) || BUILTIN_CHAINS[table].includes(rule.chain);
    if (!chainExists && !newChains.has(rule.chain)) {
      if (!rule.createChain) {
        plan.skipped.push(rule);
        continue;
      }
      newChains.add(rule.chain);
      lines.push(`:${rule.chain} - [0:0]`);
    }
    const rendered = renderRuleArgs(ruleArgs(rule));
    const rank = rule.position === 'first' ? (firstRank.get(rule.chain) ?? 0) : -1;
    if (rank >= 0) firstRank.set(rule.chain, rank + 1);
    const match = owned.find((saved) => !used.has(saved) && sameRule(rule, saved));
    if (match) {
      used.add(match);
      if (rank < 0 || match.index === rank) {
        plan.kept++;
        continue;
      }
      // Someone inserted above a rule that must come first: put it back on top.
      lines.push(`-D ${rule.chain} ${renderRuleArgs(match.args)}`);
      plan.moved.push(rule);
    } else {
      plan.added.push(rule);
    }
    inserts.push(rank >= 0 ? `-I ${rule.chain} ${rank + 1} ${rendered}` : `-A ${rule.chain} ${rendered}`);
  }
  for (const rule of owned) {
    if (used.has(rule)) continue;
    lines.push(`-D ${rule.chain} ${renderRuleArgs(rule.args)}`);
    plan.removed.push(rule);
  }
  lines.push(...inserts);
  if (lines.length > 0) plan.script = `*${table}\n${lines.join('\n')}\nCOMMIT\n`;
  return plan;
}
