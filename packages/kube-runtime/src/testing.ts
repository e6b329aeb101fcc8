// Test helpers for code built on @wirekube/kube-runtime: a Clock that moves only when told to.
export { FakeClock } from './clock/fake-clock.js';
