import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'crd-types',
    include: ['test/**/*.test.ts'],
  },
});
