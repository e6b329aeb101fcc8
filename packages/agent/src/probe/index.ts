export { decodeProbe, encodeProbe, PROBE_PORT } from './codec.js';
export { PROBE_TIMEOUT_MS, Prober } from './prober.js';
export { ProbeResponder } from './responder.js';
