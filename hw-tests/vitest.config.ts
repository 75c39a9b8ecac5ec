import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['hw-tests/**/*.test.ts'],
    // A real module needs minutes for registration and bearer activation.
    testTimeout: 180_000,
    hookTimeout: 240_000,
    maxWorkers: 1,
    fileParallelism: false,
  },
});
