export { decodeProbe, encodeProbe, PROBE_PORT } from './codec.js';
export { type LivenessProber, PROBE_TIMEOUT_MS, Prober } from './prober.js';
export { type LivenessResponder, ProbeResponder } from './responder.js';
