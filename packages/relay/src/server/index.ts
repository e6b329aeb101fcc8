/**
 * @wirekube/relay/server — the relay server and the wirekube-relay program around it.
 *
 * @example
 * ```ts
 * import { parseConfig, RelayServer, runRelay } from '@wirekube/relay/server';
 *
 * const server = new RelayServer({ requireAuth: true });
 * await server.listen(3478, '0.0.0.0');
 * server.stats.drops.no_route; await server.close();
 *
 * // The whole program (what dist/main.js runs), HTTP endpoints included:
 * const relay = await runRelay(parseConfig(['--port', '3478'], process.env)!, logger);
 * await relay.stop();
 * ```
 */
export { parseConfig, type RelayProgramConfig, USAGE } from '../program/config.js';
export { createRelayMetrics } from '../program/metrics.js';
export { type RunningRelay, runRelay } from '../program/run.js';
export type { RelayServerOptions } from './options.js';
export { RelayServer } from './server.js';
export { DROP_REASONS, type DropReason, type RelayStats } from './stats.js';
