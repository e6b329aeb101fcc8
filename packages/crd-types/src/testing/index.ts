// Test support shared by this package's tests and the lab's: the seed examples and one breaking input per
// stated constraint. Exported as `@wirekube/crd-types/testing`, never from the main entry point.
export { type PlainObject, SEED_EXAMPLE_YAML, seedExample } from './examples.js';
export { VIOLATIONS, type Violation } from './violations.js';
