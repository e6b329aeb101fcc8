import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'kube-runtime',
    include: ['test/**/*.test.ts'],
  },
});
