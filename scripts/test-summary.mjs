#!/usr/bin/env node
// Sums the vitest JSON reports every package writes (reports/vitest.json) into the plain
// `N passed, N failed` line CI reads. A package whose tests did not run at all counts as a failure.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

// The workspace's packages, as pnpm-workspace.yaml lists them: every folder of the groups, and
// the deploy package.
const packageDirs = ['packages', 'services', 'examples', 'test']
  .filter((group) => existsSync(join(root, group)))
  .flatMap((group) => readdirSync(join(root, group)).map((name) => `${group}/${name}`))
  .concat('deploy');

let passed = 0;
let failed = 0;
let skipped = 0;
for (const dir of packageDirs) {
  const manifest = join(root, dir, 'package.json');
  if (!existsSync(manifest)) continue;
  const scripts = JSON.parse(readFileSync(manifest, 'utf8')).scripts ?? {};
  if (scripts.test === undefined) continue;
  const report = join(root, dir, 'reports', 'vitest.json');
  if (!existsSync(report)) {
    console.error(`${dir}: no test report (its tests did not run)`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.error(`${dir}: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
}
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
