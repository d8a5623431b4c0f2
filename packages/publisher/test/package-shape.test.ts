// The built package loads both ways: `require()` picks dist/cjs, `import()` picks dist (ESM).
// Runs against the build output (turbo builds before `test`), each in a fresh `node` process.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cjsEntry = fileURLToPath(new URL('../dist/cjs/index.js', import.meta.url));
const esmEntry = new URL('../dist/index.js', import.meta.url).href;

function runNode(args: readonly string[]): unknown {
  const out = execFileSync(process.execPath, args, { encoding: 'utf8' });
  return JSON.parse(out) as unknown;
}

const probe = `({
  createPublisher: typeof p.createPublisher,
  createHttpPublisher: typeof p.createHttpPublisher,
  PublisherError: typeof p.PublisherError,
  isError: typeof p.PublisherError === 'function' && new p.PublisherError('TIMEOUT', 'boom') instanceof Error,
})`;

const expected = {
  createPublisher: 'function',
  createHttpPublisher: 'function',
  PublisherError: 'function',
  isError: true,
};

describe('package shape', () => {
  it('has been built', () => {
    expect(existsSync(cjsEntry), 'run `pnpm run build` first').toBe(true);
  });

  it('loads the CommonJS build with require()', () => {
    const code = `const p = require(${JSON.stringify(cjsEntry)}); console.log(JSON.stringify(${probe}));`;
    expect(runNode(['--input-type=commonjs', '-e', code])).toEqual(expected);
  });

  it('loads the ESM build with import()', () => {
    const code = `import(${JSON.stringify(esmEntry)}).then((p) => console.log(JSON.stringify(${probe})));`;
    expect(runNode(['--input-type=module', '-e', code])).toEqual(expected);
  });
});
