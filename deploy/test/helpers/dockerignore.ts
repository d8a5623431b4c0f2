/**
 * .dockerignore semantics, as Docker's builder applies them (moby/patternmatcher), so the tests
 * know which files a `COPY` can see without a container engine:
 *
 * - one pattern per line; a line starting with `#` is a comment; `!` re-includes;
 * - patterns are cleaned like Go's `filepath.Clean` and a leading `/` is dropped, then matched
 *   against the whole path from the context root (unlike .gitignore, `node_modules` matches
 *   only the top-level one; `**` / `**` + `/` match any number of directories);
 * - a path is excluded when it or one of its parent directories matches, and the last matching
 *   pattern wins.
 *
 * A file name is a small thing to get wrong in both directions, so this stays close to moby's
 * code instead of borrowing .gitignore rules; no dependency needed.
 */
import { readdirSync } from 'node:fs';
import { join, posix } from 'node:path';

export interface IgnorePattern {
  /** The cleaned pattern, without its `!`. */
  readonly pattern: string;
  /** `!pattern`: re-includes what earlier patterns excluded. */
  readonly negated: boolean;
  readonly regex: RegExp;
}

/** Go's filepath.Clean for slash paths, plus moby's removal of one leading `/`. */
function cleanPattern(raw: string): string {
  let cleaned = posix.normalize(raw);
  if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
  if (cleaned.length > 1 && cleaned.startsWith('/')) cleaned = cleaned.slice(1);
  return cleaned === './' ? '.' : cleaned;
}

const REGEX_SPECIAL = new Set(['.', '+', '(', ')', '|', '^', '$', '{', '}']);

/** moby/patternmatcher's translation of one pattern into an anchored regular expression. */
export function patternToRegex(pattern: string): RegExp {
  let source = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern.charAt(i);
    if (ch === '*') {
      if (pattern.charAt(i + 1) === '*') {
        i++;
        // `**/` is treated as `**`.
        if (pattern.charAt(i + 1) === '/') i++;
        // A trailing `**` matches everything; elsewhere any number of directories, even none.
        source += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else {
        source += '[^/]*';
      }
    } else if (ch === '?') {
      source += '[^/]';
    } else if (ch === '\\') {
      i++;
      const next = pattern.charAt(i);
      source += /[\w/]/.test(next) ? next : `\\${next}`;
    } else if (REGEX_SPECIAL.has(ch)) {
      source += `\\${ch}`;
    } else {
      source += ch;
    }
  }
  return new RegExp(`${source}$`);
}

/** The patterns of a .dockerignore text, in order. */
export function parseDockerignore(text: string): IgnorePattern[] {
  const patterns: IgnorePattern[] = [];
  for (const line of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    if (line.startsWith('#')) continue;
    let pattern = line.trim();
    if (pattern === '') continue;
    const negated = pattern.startsWith('!');
    if (negated) pattern = pattern.slice(1).trim();
    if (pattern === '') continue;
    pattern = cleanPattern(pattern);
    patterns.push({ pattern, negated, regex: patternToRegex(pattern) });
  }
  return patterns;
}

/**
 * Whether `path` (relative to the context root, `/`-separated) is left out of the build
 * context: it or a parent directory matches a pattern, and the last match is not a `!` one.
 */
export function isExcluded(path: string, patterns: readonly IgnorePattern[]): boolean {
  const file = cleanPattern(path);
  const parents = posix.dirname(file).split('/');
  let excluded = false;
  for (const p of patterns) {
    let match = p.regex.test(file);
    if (!match && posix.dirname(file) !== '.') {
      for (let i = 1; i <= parents.length && !match; i++) {
        match = p.regex.test(parents.slice(0, i).join('/'));
      }
    }
    if (match) excluded = !p.negated;
  }
  return excluded;
}

/** True when a `!` pattern might re-include something below the excluded directory `dir`. */
function mayReinclude(dir: string, patterns: readonly IgnorePattern[]): boolean {
  return patterns.some(
    (p) => p.negated && (p.pattern.startsWith(`${dir}/`) || /^[*?[]/.test(p.pattern)),
  );
}

/**
 * The files under `dir` (relative to `root`) that the build context keeps, as `/`-separated
 * paths from the root. Excluded directories are not walked unless a `!` pattern could reach
 * into them (node_modules would otherwise cost seconds).
 */
export function contextFiles(
  root: string,
  dir: string,
  patterns: readonly IgnorePattern[],
): string[] {
  const found: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!isExcluded(path, patterns) || mayReinclude(path, patterns)) walk(path);
      } else if (!isExcluded(path, patterns)) {
        found.push(path);
      }
    }
  };
  walk(cleanPattern(dir) === '.' ? '' : cleanPattern(dir));
  return found;
}
