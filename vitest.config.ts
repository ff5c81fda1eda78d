import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: [
      'src/**/*.test.ts',
      'signaling/**/*.test.ts',
      'tests/unit/**/*.test.ts',
      'tests/adversary/**/*.test.ts',
    ],
    environment: 'node',
    testTimeout: 20_000,
  },
})
