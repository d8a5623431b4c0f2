/**
 * docs/architecture.md keeps a map of every source file of the gateway. This test keeps it
 * true: a file added, moved or removed without its row fails here, with the rows to fix.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('.', import.meta.url));
const DOC = fileURLToPath(new URL('../../../docs/architecture.md', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')
      ? [relative(SRC, path)]
      : [];
  });
}

/** The first cell of each row of the file map table, e.g. `broker/broker.ts`. */
function mappedFiles(doc: string): string[] {
  const map = doc.slice(doc.indexOf('## File map'));
  return [...map.matchAll(/^\| `([^`]+\.ts)`/gm)].map((m) => m[1] ?? '');
}

describe('docs/architecture.md file map', () => {
  const files = sourceFiles(SRC).sort();
  const mapped = mappedFiles(readFileSync(DOC, 'utf8')).sort();

  it('has a row for every source file of services/gateway/src', () => {
    expect(files.filter((f) => !mapped.includes(f))).toEqual([]);
  });

  it('has no row for a file that does not exist', () => {
    expect(mapped.filter((f) => !files.includes(f))).toEqual([]);
  });
});
