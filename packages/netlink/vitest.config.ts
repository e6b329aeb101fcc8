import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'netlink',
    include: ['test/**/*.test.ts'],
  },
});
