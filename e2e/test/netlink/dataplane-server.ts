// Runs inside a lab host: the real NetlinkDataplane (rtnetlink, wireguard-go over UAPI, sysctls, iptables of
// this namespace) behind a unix socket, one JSON request per line: { id, method, args } → { id, result | error }.
// remote-dataplane.ts is its client in the test process. `node --import tsx dataplane-server.ts <socket>`.
import { unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { NetlinkDataplane } from '@wirekube/agent';
import pino from 'pino';

const [socketPath = ''] = process.argv.slice(2);
const dataplane = await NetlinkDataplane.open({
  backend: 'auto',
  procRoot: '/proc',
  logger: pino({ level: 'warn' }, pino.destination(2)),
});

const methods: Record<string, (...args: never[]) => Promise<unknown>> = {
  readDevice: (name: string) => dataplane.readDevice(name),
  createDevice: (name: string, mtu: number) => dataplane.createDevice(name, mtu),
  deleteDevice: (name: string) => dataplane.deleteDevice(name),
  apply: (...args: Parameters<NetlinkDataplane['apply']>) => dataplane.apply(...args),
  hostAddresses: (exclude: string) => dataplane.hostAddresses(exclude),
  backend: async () => dataplane.backend,
};

const server = createServer((connection) => {
  let buffered = '';
  connection.on('data', (chunk) => {
    buffered += chunk.toString();
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const { id, method, args } = JSON.parse(line) as { id: number; method: string; args: never[] };
      const run = methods[method];
      const answer = run
        ? run(...args).then(
            (result) => ({ id, result: result ?? null }),
            (error: Error) => ({ id, error: `${error.name}: ${error.message}` }),
          )
        : Promise.resolve({ id, error: `unknown method ${method}` });
      void answer.then((reply) => connection.write(`${JSON.stringify(reply)}\n`));
    }
  });
});

const stop = async () => {
  server.close();
  await dataplane.close();
  try {
    unlinkSync(socketPath);
  } catch {}
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
server.listen(socketPath, () => process.stdout.write('ready\n'));
