import { describe, expect, it } from 'vitest';
import { IptablesError, ValidationError } from '../../src/errors.js';
import type { IptablesTable } from '../../src/iptables/model.js';
import { IptablesRules } from '../../src/iptables/reconcile.js';
import { gatewayMasquerade, gatewaySnat, relayLoopbackAccept } from '../../src/iptables/rules.js';
import type { IptablesRunner } from '../../src/iptables/runner.js';
import { tokenize } from '../../src/iptables/tokens.js';

/**
 * iptables in memory: chains of rule lines; restore applies -D/-I/-A/:CHAIN the way iptables-restore --noflush
 * does, matching -D on the normalised rule text as iptables does on the parsed rule.
 */
type Tables = Record<IptablesTable, Record<string, string[]>>;

function fakeIptables(initial: Partial<Tables>) {
  const tables: Tables = { filter: {}, nat: {}, mangle: {}, raw: {}, ...structuredClone(initial) };
  const restores: string[] = [];
  const runner: IptablesRunner = {
    async save(table) {
      const chains = tables[table] ?? {};
      const lines = [`*${table}`, ...Object.keys(chains).map((c) => `:${c} - [0:0]`)];
      for (const [chain, rules] of Object.entries(chains))
        for (const rule of rules) lines.push(`-A ${chain} ${rule}`);
      return `# Generated\n${lines.join('\n')}\nCOMMIT\n`;
    },
    async restore(input) {
      restores.push(input);
      let table: IptablesTable | undefined;
      for (const line of input.split('\n')) {
        if (line.startsWith('*')) table = line.slice(1) as IptablesTable;
        else if (line.startsWith(':'))
          tables[table as IptablesTable][line.slice(1).split(' ')[0] as string] = [];
        else if (/^-[DIA] /.test(line)) {
          const args = tokenize(line);
          const chains = tables[table as IptablesTable];
          const chain = chains[args[1] as string] ?? [];
          chains[args[1] as string] = chain;
          const quoted = (rest: string[]) => rest.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ');
          if (args[0] === '-D') {
            const index = chain.indexOf(quoted(args.slice(2)));
            if (index < 0) throw new Error(`no rule to delete: ${line}`);
            chain.splice(index, 1);
          } else if (args[0] === '-I') chain.splice(Number(args[2]) - 1, 0, quoted(args.slice(3)));
          else chain.push(quoted(args.slice(2)));
        }
      }
    },
  };
  return { runner, tables, restores };
}

const DROP =
  '! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -j DROP';
const UNTAGGED_NAT = '-s 10.1.0.0/16 -j MASQUERADE';

describe('tagged iptables set', () => {
  const desired = [
    relayLoopbackAccept(0x574b),
    gatewayMasquerade({ source: '10.0.0.0/24', destination: '172.20.0.0/16', outInterface: 'eth1' }),
    gatewaySnat({ destination: '172.21.0.0/16', toSource: '172.21.0.1' }),
  ];

  it('adds the rules (relay ACCEPT first in KUBE-FIREWALL), then a second set changes nothing', async () => {
    const fake = fakeIptables({
      filter: { INPUT: [], 'KUBE-FIREWALL': [DROP] },
      nat: { POSTROUTING: [UNTAGGED_NAT] },
    });
    const rules = new IptablesRules(fake.runner);
    const first = await rules.set(desired);
    expect(first).toMatchObject({ changed: true, removed: [], skipped: [] });
    expect(first.added).toHaveLength(3);
    expect(fake.tables.filter['KUBE-FIREWALL']).toEqual([
      '-d 127.0.0.0/8 -m mark --mark 0x574b -m comment --comment "wirekube: allow WG relay proxy on loopback" -j ACCEPT',
      DROP,
    ]);
    expect(fake.tables.nat.POSTROUTING?.[0]).toBe(UNTAGGED_NAT);
    const count = fake.restores.length;
    expect((await rules.set(desired)).changed).toBe(false);
    expect(fake.restores).toHaveLength(count);
    expect((await rules.list('nat')).map((r) => r.comment)).toEqual([
      'wirekube: gateway masquerade to 172.20.0.0/16',
      'wirekube: gateway snat to 172.21.0.0/16',
    ]);
  });

  it('removes tagged rules no longer desired, never untagged ones, and puts a displaced first rule back', async () => {
    const fake = fakeIptables({
      filter: { 'KUBE-FIREWALL': [DROP] },
      nat: { POSTROUTING: [UNTAGGED_NAT] },
    });
    const rules = new IptablesRules(fake.runner);
    await rules.set(desired);
    // Another daemon inserts its own rule on top of KUBE-FIREWALL.
    fake.tables.filter['KUBE-FIREWALL']?.unshift('-j RETURN');
    const result = await rules.set([desired[0] as (typeof desired)[number]]);
    expect(result.removed.map((r) => r.comment)).toEqual([
      'wirekube: gateway masquerade to 172.20.0.0/16',
      'wirekube: gateway snat to 172.21.0.0/16',
    ]);
    expect(result.updated).toHaveLength(1);
    expect(fake.tables.filter['KUBE-FIREWALL']?.[0]).toContain('wirekube: allow WG relay proxy on loopback');
    expect(fake.tables.filter['KUBE-FIREWALL']).toContain('-j RETURN');
    expect(fake.tables.nat.POSTROUTING).toEqual([UNTAGGED_NAT]);
    await rules.set([]);
    expect(fake.tables.filter['KUBE-FIREWALL']).toEqual(['-j RETURN', DROP]);
  });

  it('skips a rule whose chain is missing unless told to create it', async () => {
    const fake = fakeIptables({ filter: {}, nat: {} });
    const rules = new IptablesRules(fake.runner);
    const skipped = await rules.set([relayLoopbackAccept(0x574b)]);
    expect(skipped).toMatchObject({ changed: false, skipped: [{ chain: 'KUBE-FIREWALL' }] });
    const created = await rules.set([{ ...relayLoopbackAccept(0x574b), createChain: true }]);
    expect(created.added).toHaveLength(1);
    expect(fake.restores.at(-1)).toMatch(/^\*filter\n:KUBE-FIREWALL - \[0:0\]\n-I KUBE-FIREWALL 1 /);
  });

  it('refuses rules without the tag or with a newline, before running anything', async () => {
    const fake = fakeIptables({ filter: {}, nat: {} });
    const rules = new IptablesRules(fake.runner);
    const bad = { ...relayLoopbackAccept(0x574b), comment: 'someone else' };
    await expect(rules.set([bad])).rejects.toThrow(ValidationError);
    await expect(rules.set([{ ...relayLoopbackAccept(1), spec: ['-j', 'ACCEPT\n-F'] }])).rejects.toThrow(
      ValidationError,
    );
    expect(fake.restores).toEqual([]);
  });
});

describe('iptables absent from the node', () => {
  const missing: IptablesRunner = {
    async save() {
      throw new IptablesError('iptables-save -t filter failed: spawn iptables-save ENOENT', {
        operation: 'iptables.save',
        code: 'ENOENT',
      });
    },
    async restore() {
      throw new Error('never called');
    },
  };

  it('has no rule of ours, so the empty desired state is already met', async () => {
    expect(await new IptablesRules(missing).set([])).toEqual({
      changed: false,
      added: [],
      removed: [],
      updated: [],
      skipped: [],
    });
  });

  it('still fails a desired rule, naming the command', async () => {
    await expect(new IptablesRules(missing).set([relayLoopbackAccept(0x574b)])).rejects.toThrow(
      /iptables-save/,
    );
  });
});
