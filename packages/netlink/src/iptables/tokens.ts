/** Splits an iptables-save rule line into arguments, honouring the double quotes iptables-save writes. */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let current = '';
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quoted) {
      if (ch === '\\' && i + 1 < line.length) current += line[++i];
      else if (ch === '"') quoted = false;
      else current += ch;
    } else if (ch === '"') {
      quoted = true;
      inToken = true;
    } else if (ch === ' ' || ch === '\t') {
      if (inToken) out.push(current);
      current = '';
      inToken = false;
    } else {
      current += ch;
      inToken = true;
    }
  }
  if (quoted) throw new SyntaxError(`unterminated quote in iptables rule: ${line}`);
  if (inToken) out.push(current);
  return out;
}

/** Quotes an argument for iptables-restore when it needs it. */
export function quote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_.,:/=+@%!-]+$/.test(arg)) return arg;
  return `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function render(args: readonly string[]): string {
  return args.map(quote).join(' ');
}
