import type { IptablesTable, SavedTable, TaggedRule } from './model.js';
import { render, tokenize } from './tokens.js';

/** Parses `iptables-save -t TABLE` output (the section of that table). */
export function parseSave(text: string, table: IptablesTable): SavedTable {
  const saved: SavedTable = { table, chains: new Set(), rules: [] };
  const counts = new Map<string, number>();
  let inTable = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      inTable = line.slice(1) === table;
      continue;
    }
    if (!inTable || line === '' || line.startsWith('#') || line === 'COMMIT') continue;
    if (line.startsWith(':')) {
      saved.chains.add(line.slice(1).split(' ')[0] ?? '');
      continue;
    }
    const args = tokenize(line);
    if (args[0] !== '-A' || !args[1]) continue;
    const chain = args[1];
    const index = counts.get(chain) ?? 0;
    counts.set(chain, index + 1);
    const rest = args.slice(2);
    const commentAt = rest.indexOf('--comment');
    const comment = commentAt >= 0 ? rest[commentAt + 1] : undefined;
    saved.rules.push({ table, chain, args: rest, index, ...(comment !== undefined ? { comment } : {}) });
  }
  return saved;
}

function withHostPrefix(address: string): string {
  if (address.includes('/')) return address;
  return address.includes(':') ? `${address}/128` : `${address}/32`;
}

/**
 * The comparable form of a rule's arguments: comment match dropped, host addresses given their /32, so a spec
 * as written and the same rule as iptables-save prints it compare equal.
 */
export function normalizeArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '-m' && args[i + 1] === 'comment' && args[i + 2] === '--comment') {
      i += 3;
      continue;
    }
    if ((arg === '-s' || arg === '-d' || arg === '--source' || arg === '--destination') && args[i + 1]) {
      out.push(
        arg.length === 2 ? arg : arg === '--source' ? '-s' : '-d',
        withHostPrefix(args[i + 1] as string),
      );
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}

/** The arguments a desired rule is written with: spec with the comment match placed just before `-j`. */
export function ruleArgs(rule: TaggedRule): string[] {
  const jump = rule.spec.indexOf('-j');
  const at = jump < 0 ? rule.spec.length : jump;
  return [...rule.spec.slice(0, at), '-m', 'comment', '--comment', rule.comment, ...rule.spec.slice(at)];
}

export function renderRuleArgs(args: readonly string[]): string {
  return render(args);
}
