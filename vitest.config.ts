import { defineConfig } from 'vitest/config';

// One run over every package: `npm test` uses this so the totals cover the whole repository.
export default defineConfig({
  test: {
    projects: ['packages/*', 'e2e'],
    passWithNoTests: true,
  },
});
