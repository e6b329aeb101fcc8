/**
 * wirekube-relay's configuration from flags and environment (flags win). Pure: no I/O, so every rule is a unit
 * test.
 */
import { parseArgs } from 'node:util';
import { RelayArgumentError } from '../errors.js';

export interface RelayProgramConfig {
  listenAddress: string;
  port: number;
  /** Address and port of the HTTP server for /metrics, /healthz, /readyz. */
  httpAddress: string;
  httpPort: number;
  requireAuth: boolean;
  /** Offer the extensions (auth, ping). False makes a core-only relay. */
  extensions: boolean;
  maxQueueBytes: number;
  /** Source penalty (server/source-penalty.ts): strikes per source at once (0 = off), and regained per second. */
  sourcePenaltyBurst: number;
  sourcePenaltyPerSecond: number;
  logLevel: string;
  /** Seconds to wait for clients to go away on SIGTERM before exiting anyway. */
  shutdownGraceSeconds: number;
}

export const USAGE = `Usage: wirekube-relay [options]

  --listen-address ADDR     relay TCP address            (env RELAY_LISTEN_ADDRESS, default 0.0.0.0)
  --port N                  relay TCP port               (env RELAY_PORT, default 3478)
  --http-address ADDR       metrics/health address       (env RELAY_HTTP_ADDRESS, default 0.0.0.0)
  --http-port N             metrics/health port          (env RELAY_HTTP_PORT, default 9090)
  --require-auth            route only keys proven by the auth extension (env RELAY_REQUIRE_AUTH=true)
  --no-extensions           speak only the four core frames (env RELAY_EXTENSIONS=false)
  --max-queue-bytes N       per-connection send queue bound (env RELAY_MAX_QUEUE_BYTES, default 4194304)
  --source-penalty-burst N  protocol violations one source address may commit at once before its new
                            connections are refused as they arrive; 0 = off, for a relay behind SNAT
                                                         (env RELAY_SOURCE_PENALTY_BURST, default 50)
  --source-penalty-per-second N  violations a source is forgiven per second
                                                         (env RELAY_SOURCE_PENALTY_PER_SECOND, default 5)
  --log-level LEVEL         pino level                   (env LOG_LEVEL, default info)
  --shutdown-grace-seconds N                             (env RELAY_SHUTDOWN_GRACE_SECONDS, default 10)
  --help
`;

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(value) || value < min || value > max) {
    throw new RelayArgumentError(`${name} must be an integer in ${min}..${max}, got '${text}'`, name);
  }
  return value;
}

function boolean(name: string, text: string): boolean {
  const normalized = text.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(normalized)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(normalized)) return false;
  throw new RelayArgumentError(`${name} must be true or false, got '${text}'`, name);
}

/** Throws RelayArgumentError naming the flag or variable at fault. Returns null for --help. */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): RelayProgramConfig | null {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new RelayArgumentError((error as Error).message, 'argv');
  }
  const { values } = parsed;
  if (values.help) return null;
  const pick = (flag: string | undefined, name: string, fallback: string) => flag ?? env[name] ?? fallback;
  const requireAuth =
    values['require-auth'] ?? boolean('RELAY_REQUIRE_AUTH', env.RELAY_REQUIRE_AUTH ?? 'false');
  const extensions = values['no-extensions']
    ? false
    : boolean('RELAY_EXTENSIONS', env.RELAY_EXTENSIONS ?? 'true');
  if (requireAuth && !extensions) {
    throw new RelayArgumentError(
      '--require-auth needs the extensions (drop --no-extensions)',
      'require-auth',
    );
  }
  return {
    listenAddress: pick(values['listen-address'], 'RELAY_LISTEN_ADDRESS', '0.0.0.0'),
    port: integer('port', pick(values.port, 'RELAY_PORT', '3478'), 0, 65535),
    httpAddress: pick(values['http-address'], 'RELAY_HTTP_ADDRESS', '0.0.0.0'),
    httpPort: integer('http-port', pick(values['http-port'], 'RELAY_HTTP_PORT', '9090'), 0, 65535),
    requireAuth,
    extensions,
    maxQueueBytes: integer(
      'max-queue-bytes',
      pick(values['max-queue-bytes'], 'RELAY_MAX_QUEUE_BYTES', String(4 * 1024 * 1024)),
      65540,
      1024 * 1024 * 1024,
    ),
    sourcePenaltyBurst: integer(
      'source-penalty-burst',
      pick(values['source-penalty-burst'], 'RELAY_SOURCE_PENALTY_BURST', '50'),
      0,
      1_000_000,
    ),
    sourcePenaltyPerSecond: integer(
      'source-penalty-per-second',
      pick(values['source-penalty-per-second'], 'RELAY_SOURCE_PENALTY_PER_SECOND', '5'),
      1,
      1_000_000,
    ),
    logLevel: pick(values['log-level'], 'LOG_LEVEL', 'info'),
    shutdownGraceSeconds: integer(
      'shutdown-grace-seconds',
      pick(values['shutdown-grace-seconds'], 'RELAY_SHUTDOWN_GRACE_SECONDS', '10'),
      0,
      3600,
    ),
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      'listen-address': { type: 'string' },
      port: { type: 'string' },
      'http-address': { type: 'string' },
      'http-port': { type: 'string' },
      'require-auth': { type: 'boolean' },
      'no-extensions': { type: 'boolean' },
      'max-queue-bytes': { type: 'string' },
      'source-penalty-burst': { type: 'string' },
      'source-penalty-per-second': { type: 'string' },
      'log-level': { type: 'string' },
      'shutdown-grace-seconds': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
}
