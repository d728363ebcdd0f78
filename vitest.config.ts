import {defineConfig} from 'vitest/config'

// Two projects: `unit` (no Docker, runs anywhere, also on Node 24 in CI) and `integration` (a real swarm:
// scripts/local-swarm.sh up). Integration files run one at a time: they share one single-node swarm.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 240_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
})
