import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as scripts from './generated.js';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));

describe('generated.ts', () => {
  it('is what src/scripts/*.lua render to (build-lua.mjs --check)', () => {
    // Throws, with the script's message on stderr, when the committed file is stale.
    expect(() =>
      execFileSync(process.execPath, ['scripts/build-lua.mjs', '--check'], {
        cwd: packageDir,
        stdio: 'pipe',
      }),
    ).not.toThrow();
  });

  it('holds the very scripts of before the move to .lua files (same SHA1, so EVALSHA names)', () => {
    const sha1 = (text: string): string => createHash('sha1').update(text).digest('hex');
    expect(
      Object.fromEntries(Object.entries(scripts).map(([name, text]) => [name, sha1(text)])),
    ).toEqual({
      BUMP_EPOCH_SCRIPT: '71eea12f6efe8b4e773d759797c3b8d7fb6a1d6b',
      CHECK_POSITION_SCRIPT: '91c27572108c228247c73dd155b5b430c9fb7bd7',
      ENSURE_META_SCRIPT: '868bed59c66b3ae01ae51163298d2bac0d34172c',
      HEAD_SCRIPT: '43a329b02ec95776626ca0e0b1d548690342847d',
      PUBLISH_SCRIPT: '168679d7c09f1e21fd5b711efc41ef1336d76f2c',
      READ_SCRIPT: 'fb790806f36820b6e3714f3ffcfae104ad036b09',
    });
  });
});
