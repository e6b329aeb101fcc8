export type IptablesTable = 'filter' | 'nat' | 'mangle' | 'raw';

/** A rule WireKube owns, identified by its comment (which starts with the owner tag). */
export interface TaggedRule {
  table: IptablesTable;
  chain: string;
  /**
   * The rule's arguments without `-A CHAIN` and without the comment match, spelled as iptables-save prints
   * them (selectors -s/-d/-i/-o/-p first, then matches, then -j and its options), so that reading back
   * compares equal.
   */
  spec: string[];
  comment: string;
  /** `first`: keep the rule at the top of its chain (before another daemon's DROP). Default `last`. */
  position?: 'first' | 'last';
  /** Create the chain when it does not exist (default false: a missing non-builtin chain skips the rule). */
  createChain?: boolean;
  /** iptables (4, the default) or ip6tables (6). */
  family?: 4 | 6;
}

/** A rule line read from iptables-save. */
export interface SavedRule {
  table: IptablesTable;
  chain: string;
  /** Arguments after `-A CHAIN`, comment match included, exactly as saved. */
  args: string[];
  comment?: string;
  /** Position within its chain, 0-based. */
  index: number;
}

export interface SavedTable {
  table: IptablesTable;
  chains: Set<string>;
  rules: SavedRule[];
}

export const BUILTIN_CHAINS: Record<IptablesTable, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
};
