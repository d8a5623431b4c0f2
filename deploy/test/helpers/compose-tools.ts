/**
 * The two external validators of the compose stack, both from Debian and both offline:
 * `docker-compose config -q` (v1, schema and interpolation) and `nginx -t` (the balancer's
 * configuration as nginx parses it).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface ToolResult {
  readonly code: number | null;
  readonly output: string;
}

function runTool(command: string, args: readonly string[], cwd: string, hint: string): ToolResult {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    // Nothing of the runner's environment (SSEHUB_* variables, COMPOSE_*) may change the result.
    env: { PATH: process.env['PATH'] ?? '', HOME: tmpdir() },
  });
  if (result.error !== undefined) {
    throw new Error(`${command} could not run (${result.error.message}); ${hint}`);
  }
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

export interface ComposeConfigOptions {
  /** The project directory: relative paths of the file resolve against it. */
  readonly projectDir: string;
  /** The compose file's text when it is not `<projectDir>/docker-compose.yml` (negative tests). */
  readonly text?: string;
  /** An env file, relative to `projectDir`; an empty one when omitted. */
  readonly envFile?: string;
  readonly profiles?: readonly string[];
}

/**
 * `docker-compose -f <file> --project-directory <dir> --env-file <file> [--profile p]… config
 * -q`. An env file is always passed (an empty one by default) so that a developer's `.env`
 * cannot change the result.
 */
export function composeConfig(options: ComposeConfigOptions): ToolResult {
  const dir = mkdtempSync(join(tmpdir(), 'ssehub-compose-'));
  try {
    const empty = join(dir, 'empty.env');
    writeFileSync(empty, '');
    let file = 'docker-compose.yml';
    if (options.text !== undefined) {
      file = join(dir, 'docker-compose.yml');
      writeFileSync(file, options.text);
    }
    const envFile = options.envFile ?? empty;
    const args = ['-f', file, '--project-directory', options.projectDir, '--env-file', envFile];
    for (const profile of options.profiles ?? []) args.push('--profile', profile);
    return runTool(
      'docker-compose',
      [...args, 'config', '-q'],
      options.projectDir,
      'install it: apt-get install -y --no-install-recommends docker-compose',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** nginx from PATH, else Debian's /usr/sbin/nginx (/usr/sbin is not on every user's PATH). */
function nginxBinary(): string {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '');
  const onPath = dirs.some((d) => existsSync(join(d, 'nginx')));
  return !onPath && existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
}

/** Files of an nginx prefix directory: name → content, or a path to copy verbatim. */
export type NginxFiles = Readonly<Record<string, { readonly copy: string } | string>>;

/**
 * `nginx -t` on a temporary prefix holding `files` and a minimal main configuration that
 * includes `serverConf` in its `http` block; everything nginx writes stays in the prefix.
 */
export function nginxTest(files: NginxFiles, serverConf: string): ToolResult {
  const prefix = mkdtempSync(join(tmpdir(), 'ssehub-nginx-t-'));
  try {
    for (const [name, content] of Object.entries(files)) {
      if (typeof content === 'string') writeFileSync(join(prefix, name), content);
      else copyFileSync(content.copy, join(prefix, name));
    }
    writeFileSync(
      join(prefix, 'nginx.conf'),
      [
        `pid ${join(prefix, 'nginx.pid')};`,
        `error_log ${join(prefix, 'error.log')};`,
        'events {}',
        'http {',
        '    access_log off;',
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
          (t) => `    ${t}_temp_path ${join(prefix, t)};`,
        ),
        `    include ${serverConf};`,
        '}',
        '',
      ].join('\n'),
    );
    // -e: nginx opens the error log before it reads the configuration (the default path is
    // /var/log/nginx, which a non-root user cannot open).
    return runTool(
      nginxBinary(),
      ['-t', '-p', `${prefix}/`, '-c', join(prefix, 'nginx.conf'), '-e', join(prefix, 'error.log')],
      prefix,
      'install it: apt-get install -y --no-install-recommends nginx',
    );
  } finally {
    rmSync(prefix, { recursive: true, force: true });
  }
}

/**
 * The compose upstreams file made parseable by this machine's nginx, for the syntax check
 * only: Debian's nginx 1.22 predates `resolve` (1.27.3) and the `resolver` in an upstream
 * block, and the `gateway-N` names resolve only inside the compose network. So the host names
 * become 127.0.0.1, and `resolve` and the `resolver` line go; everything else stays as is.
 */
export function upstreamsForLocalNginx(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\s*resolver\s/.test(line))
    .map((line) =>
      /^\s*server\s/.test(line)
        ? line.replace(/(server\s+)[^\s:;]+/, '$1127.0.0.1').replace(/\s+resolve(?=[\s;])/, '')
        : line,
    )
    .join('\n');
}
