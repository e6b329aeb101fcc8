#!/usr/bin/env node
// wirekube-relay: flags/env → config, run, stop gracefully on SIGTERM/SIGINT.
import { pino } from 'pino';
import { parseConfig, USAGE } from './program/config.js';
import { runRelay } from './program/run.js';

async function main(): Promise<number> {
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`wirekube-relay: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (config === null) {
    process.stdout.write(USAGE);
    return 0;
  }
  const logger = pino({ level: config.logLevel, base: { component: 'wirekube-relay' } });
  const relay = await runRelay(config, logger);
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ event: 'signal', signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
  await relay.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`wirekube-relay: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
