import { defineProject } from 'vitest/config';

// Lab tests create namespaces, processes and an API server: one file at a time keeps a 2-core machine honest.
export default defineProject({
  test: {
    name: 'e2e',
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
