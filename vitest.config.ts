import {defineConfig} from 'vitest/config'

// CLINICAL_TEST_REPORT=<file>: also write vitest's JSON report there (kept with the default reporter), so .ci/run
// can count passed and failed tests over several runs.
const jsonReport = process.env.CLINICAL_TEST_REPORT

// Two projects: `unit` (no Docker, runs anywhere, also on Node 24 in CI) and `integration` (a real swarm:
// scripts/local-swarm.sh up). Integration files run one at a time: they share one single-node swarm.
export default defineConfig({
  test: {
    ...(jsonReport ? {reporters: ['default', 'json'], outputFile: {json: jsonReport}} : {}),
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
