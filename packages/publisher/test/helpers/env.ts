/**
 * The environment for a child process under test: this process's, without the variables the
 * child would read as defaults (so each test says what it uses), plus the given ones.
 */
export function childEnv(
  without: readonly string[],
  extra: Readonly<Record<string, string>> = {},
): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(([name]) => !without.includes(name));
  return { ...Object.fromEntries(kept), ...extra };
}
