// Run inside a lab host: sends a STUN binding request to each server given on the command line, all from one
// local UDP port, and prints one JSON line: { localPort, mapped: ["ip:port", ...] }. That is what tells a cone
// NAT (same mapping for every server) from a symmetric one (a new mapping per destination).
//
//   node --import tsx e2e/src/stun/probe-cli.ts [--port N] 198.51.100.10:3478 198.51.100.11:3478
import { createSocket } from 'node:dgram';
import stun from '@msimerson/stun';

async function main(args: string[]) {
  let localPort = 0;
  const servers: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port') localPort = Number(args[++i]);
    else servers.push(String(args[i]));
  }
  if (servers.length === 0 || !Number.isInteger(localPort)) {
    throw new Error('usage: probe-cli.ts [--port N] host:port [host:port ...]');
  }
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(localPort, resolve));
  const server = stun.createServer({ type: 'udp4', socket });
  const mapped: string[] = [];
  try {
    for (const url of servers) {
      const response = await stun.request(url, { server, timeout: 200, retries: 4 });
      const address = response.getXorAddress() ?? response.getAddress();
      if (!address) throw new Error(`${url}: no mapped address in the response`);
      mapped.push(`${address.address}:${address.port}`);
    }
    process.stdout.write(`${JSON.stringify({ localPort: socket.address().port, mapped })}\n`);
  } finally {
    server.close();
    socket.close();
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
