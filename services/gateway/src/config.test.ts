import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  HelpRequested,
  configHelp,
  describeConfig,
  loadConfig,
  resolveConfig,
} from './config/index.js';
import type { AuthConfig, GatewayConfig, GatewayOptions } from './config/index.js';

/** The ConfigError that `fn` throws; fails the test if it throws nothing or something else. */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, but the configuration was accepted');
}

const problemsOf = (fn: () => unknown): readonly string[] => configErrorOf(fn).problems;

function pemOf(auth: AuthConfig): string {
  if (auth.kind !== 'publicKey') throw new Error(`expected a public key, got auth ${auth.kind}`);
  return auth.pem;
}

/** Every setting's variable, written out so a renamed or dropped setting fails a test. */
const VARIABLES = [
  'HOST',
  'PORT',
  'ADMIN_HOST',
  'ADMIN_PORT',
  'TLS_CERT',
  'TLS_KEY',
  'KEEP_ALIVE_TIMEOUT_MS',
  'REDIS_URL',
  'REDIS_SENTINELS',
  'REDIS_SENTINEL_NAME',
  'REDIS_CLUSTER_NODES',
  'REDIS_PREFIX',
  'REDIS_SHARDS',
  'HEARTBEAT_MS',
  'HISTORY_SIZE',
  'HISTORY_TTL_MS',
  'MAX_EVENT_BYTES',
  'MAX_BODY_BYTES',
  'IDEMPOTENCY_TTL_MS',
  'AUTH_JWT_SECRET',
  'AUTH_JWT_PUBLIC_KEY',
  'AUTH_JWKS_URL',
  'AUTH_JWT_AUDIENCE',
  'AUTH_JWT_ISSUER',
  'PUBLIC_TOPICS',
  'CORS_ORIGINS',
  'ADMIN_TOKEN',
  'MAX_CONNECTIONS',
  'MAX_CONNECTIONS_PER_IP',
  'MAX_CONNECTIONS_PER_SUBJECT',
  'TRUST_PROXY',
  'MAX_BUFFERED_BYTES',
  'MAX_TOTAL_BUFFERED_BYTES',
  'MAX_CONNECTION_AGE_MS',
  'SHUTDOWN_GRACE_MS',
  'LOG_LEVEL',
  'PLAYGROUND',
  'NODE_ENV',
] as const;

const flagOf = (variable: string): string => `--${variable.toLowerCase().replaceAll('_', '-')}`;

const { publicKey: ED25519_PUBLIC, privateKey: ED25519_PRIVATE } = generateKeyPairSync('ed25519');
const ED25519_SPKI = ED25519_PUBLIC.export({ type: 'spki', format: 'pem' }).toString();
const RSA_PKCS1 = generateKeyPairSync('rsa', { modulusLength: 1024 })
  .publicKey.export({ type: 'pkcs1', format: 'pem' })
  .toString();
/** Self-signed P-256 certificate (openssl req -x509 -newkey ec); only its key matters here. */
const EC_CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIBbTCCAROgAwIBAgIUAY88UT1djsHZxbBhKAvYT+2PgZEwCgYIKoZIzj0EAwIw
DDEKMAgGA1UEAwwBeDAeFw0yNjExMjIyMjI3NDJaFw0yNjExMjMyMjI3NDJaMAwx
CjAIBgNVBAMMAXgwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATmOOconQ3Hv/1l
BwIfvOJKC0TLa51e8mZmqJJvOM4bzTr+I78YQ/tXJuQVRO+vWAPCd6mnEDABC9/H
0r+QKZ2/o1MwUTAdBgNVHQ4EFgQUUQHw6YGBZVymbeHpfUdcKP5Z82cwHwYDVR0j
BBgwFoAUUQHw6YGBZVymbeHpfUdcKP5Z82cwDwYDVR0TAQH/BAUwAwEB/zAKBggq
hkjOPQQDAgNIADBFAiEA5cyt5U6W/aFgEdvDNRgVHs71LhENn1nWdSswN1+OIV0C
IBcG7w/FlmygGbHYM7OMSJKtoLv9ePI2lt5xRvPj2sgF
-----END CERTIFICATE-----`;

const DEFAULTS: GatewayConfig = {
  host: '0.0.0.0',
  port: 8080,
  adminHost: '0.0.0.0',
  adminPort: 9090,
  tlsCert: undefined,
  tlsKey: undefined,
  keepAliveTimeoutMs: 65_000,
  redisUrl: undefined,
  redisSentinels: undefined,
  redisSentinelName: undefined,
  redisClusterNodes: undefined,
  redisPrefix: 'ssehub',
  redisShards: 1,
  heartbeatMs: 15_000,
  historySize: 10_000,
  historyTtlMs: 3_600_000,
  maxEventBytes: 65_536,
  maxBodyBytes: 1_048_576,
  idempotencyTtlMs: 300_000,
  auth: { kind: 'none' },
  authJwtAudience: undefined,
  authJwtIssuer: undefined,
  publicTopics: [],
  corsOrigins: '*',
  adminToken: undefined,
  maxConnections: 50_000,
  maxConnectionsPerIp: 1_000,
  maxConnectionsPerSubject: 100,
  trustProxy: 0,
  maxBufferedBytes: 1_048_576,
  maxTotalBufferedBytes: 268_435_456,
  maxConnectionAgeMs: 0,
  shutdownGraceMs: 25_000,
  logLevel: 'info',
  playground: true,
  nodeEnv: 'development',
};

describe('loadConfig defaults', () => {
  it('applies every default to an empty environment', () => {
    expect(loadConfig({})).toEqual(DEFAULTS);
  });

  it('treats empty variables as unset (docker-compose passes FOO=)', () => {
    const env = Object.fromEntries(VARIABLES.map((name) => [name, '']));
    expect(loadConfig(env)).toEqual(DEFAULTS);
  });

  it('ignores variables that are not settings', () => {
    expect(loadConfig({ PATH: '/usr/bin', HOME: '/root', PORTS: 'x' })).toEqual(DEFAULTS);
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({
      PUBLIC_TOPICS: 'news/**',
      REDIS_SENTINELS: 'a:1',
      REDIS_SENTINEL_NAME: 'm',
      AUTH_JWT_SECRET: 's',
      CORS_ORIGINS: 'https://a.example',
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.publicTopics)).toBe(true);
    expect(Object.isFrozen(config.corsOrigins)).toBe(true);
    expect(Object.isFrozen(config.auth)).toBe(true);
    expect(Object.isFrozen(config.redisSentinels)).toBe(true);
    expect(Object.isFrozen(config.redisSentinels?.[0])).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});

describe('loadConfig parses each variable', () => {
  const cases: [name: string, raw: string, expected: Partial<GatewayConfig>][] = [
    ['HOST', '127.0.0.1', { host: '127.0.0.1', adminHost: '127.0.0.1' }],
    ['PORT', '8081', { port: 8081 }],
    ['PORT', '0', { port: 0 }],
    ['ADMIN_HOST', '::1', { adminHost: '::1', host: '0.0.0.0' }],
    ['ADMIN_PORT', '0', { adminPort: 0 }],
    ['KEEP_ALIVE_TIMEOUT_MS', '120000', { keepAliveTimeoutMs: 120_000 }],
    [
      'REDIS_URL',
      'rediss://:pw@redis.internal:6380/2',
      { redisUrl: 'rediss://:pw@redis.internal:6380/2' },
    ],
    [
      'REDIS_CLUSTER_NODES',
      'n1:7000, n2:7001,[fd00::3]:7002,n4',
      {
        redisClusterNodes: [
          { host: 'n1', port: 7000 },
          { host: 'n2', port: 7001 },
          { host: 'fd00::3', port: 7002 },
          { host: 'n4', port: 6379 },
        ],
      },
    ],
    ['REDIS_PREFIX', 'app-1.events', { redisPrefix: 'app-1.events' }],
    ['REDIS_SHARDS', '16', { redisShards: 16 }],
    ['HEARTBEAT_MS', '100', { heartbeatMs: 100 }],
    ['HISTORY_SIZE', '0', { historySize: 0 }],
    ['HISTORY_SIZE', '10000000', { historySize: 10_000_000 }],
    ['HISTORY_TTL_MS', '60000', { historyTtlMs: 60_000 }],
    ['MAX_EVENT_BYTES', '1024', { maxEventBytes: 1024 }],
    ['MAX_BODY_BYTES', '2048', { maxBodyBytes: 2048 }],
    ['IDEMPOTENCY_TTL_MS', '1000', { idempotencyTtlMs: 1000 }],
    [
      'AUTH_JWT_SECRET',
      'hunter2',
      { auth: { kind: 'secret', secret: 'hunter2' }, corsOrigins: [] },
    ],
    [
      'AUTH_JWT_PUBLIC_KEY',
      ED25519_SPKI,
      { auth: { kind: 'publicKey', pem: ED25519_SPKI }, corsOrigins: [] },
    ],
    [
      'AUTH_JWKS_URL',
      'https://idp.example/.well-known/jwks.json',
      {
        auth: { kind: 'jwks', url: 'https://idp.example/.well-known/jwks.json' },
        corsOrigins: [],
      },
    ],
    ['PUBLIC_TOPICS', 'news/**', { publicTopics: ['news/**'] }],
    [
      'CORS_ORIGINS',
      'https://app.example, http://localhost:5173',
      {
        corsOrigins: ['https://app.example', 'http://localhost:5173'],
      },
    ],
    ['CORS_ORIGINS', '*', { corsOrigins: '*' }],
    ['ADMIN_TOKEN', 't0ken', { adminToken: 't0ken' }],
    ['MAX_CONNECTIONS', '10', { maxConnections: 10 }],
    ['MAX_CONNECTIONS_PER_IP', '5', { maxConnectionsPerIp: 5 }],
    ['MAX_CONNECTIONS_PER_SUBJECT', '3', { maxConnectionsPerSubject: 3 }],
    ['TRUST_PROXY', '2', { trustProxy: 2 }],
    ['TRUST_PROXY', 'true', { trustProxy: 1 }],
    ['TRUST_PROXY', 'FALSE', { trustProxy: 0 }],
    ['MAX_BUFFERED_BYTES', '4096', { maxBufferedBytes: 4096 }],
    ['MAX_TOTAL_BUFFERED_BYTES', '8192', { maxTotalBufferedBytes: 8192 }],
    ['MAX_CONNECTION_AGE_MS', '900000', { maxConnectionAgeMs: 900_000 }],
    ['SHUTDOWN_GRACE_MS', '0', { shutdownGraceMs: 0 }],
    ['LOG_LEVEL', 'debug', { logLevel: 'debug' }],
    ['LOG_LEVEL', 'WARN', { logLevel: 'warn' }],
    ['PLAYGROUND', '0', { playground: false }],
    ['PLAYGROUND', 'TRUE', { playground: true }],
    ['NODE_ENV', 'production', { nodeEnv: 'production', playground: false }],
    ['NODE_ENV', 'test', { nodeEnv: 'test', playground: true }],
  ];

  it.each(cases)('%s=%j', (name, raw, expected) => {
    expect(loadConfig({ [name]: raw })).toEqual({ ...DEFAULTS, ...expected });
  });

  const PAIRED = [
    'REDIS_SENTINELS',
    'REDIS_SENTINEL_NAME',
    'TLS_CERT',
    'TLS_KEY',
    'AUTH_JWT_AUDIENCE',
    'AUTH_JWT_ISSUER',
  ];

  it('reads the settings that only make sense in pairs', () => {
    const config = loadConfig({
      REDIS_SENTINELS: 's1:26380,s2',
      REDIS_SENTINEL_NAME: 'mymaster',
      TLS_CERT: '/tls/cert.pem',
      TLS_KEY: '/tls/key.pem',
      AUTH_JWT_SECRET: 's',
      AUTH_JWT_AUDIENCE: 'ssehub',
      AUTH_JWT_ISSUER: 'https://idp.example/',
      PLAYGROUND: 'true',
      NODE_ENV: 'production',
    });
    expect(config).toMatchObject({
      redisSentinels: [
        { host: 's1', port: 26_380 },
        { host: 's2', port: 26_379 },
      ],
      redisSentinelName: 'mymaster',
      tlsCert: '/tls/cert.pem',
      tlsKey: '/tls/key.pem',
      authJwtAudience: 'ssehub',
      authJwtIssuer: 'https://idp.example/',
      playground: true,
    });
  });

  it('has a case for every variable', () => {
    const tested = new Set([...cases.map(([name]) => name), ...PAIRED]);
    expect([...tested].sort()).toEqual([...VARIABLES].sort());
  });
});

describe('flags', () => {
  it('win over variables, in both --flag value and --flag=value forms', () => {
    const config = loadConfig({ PORT: '1111', HEARTBEAT_MS: '2000', LOG_LEVEL: 'warn' }, [
      '--port',
      '2222',
      '--heartbeat-ms=3000',
    ]);
    expect(config).toMatchObject({ port: 2222, heartbeatMs: 3000, logLevel: 'warn' });
  });

  it('exist for every variable, including --node-env', () => {
    expect(loadConfig({}, ['--node-env', 'production'])).toMatchObject({
      nodeEnv: 'production',
      playground: false,
    });
    expect(loadConfig({}, ['--max-connections-per-subject=7']).maxConnectionsPerSubject).toBe(7);
    expect(loadConfig({}, ['--auth-jwt-public-key', ED25519_SPKI]).auth).toEqual({
      kind: 'publicKey',
      pem: ED25519_SPKI,
    });
    for (const name of VARIABLES) {
      // A known flag with an empty value needs a value; an unknown one would be "unknown flag".
      const flag = flagOf(name);
      expect(
        problemsOf(() => loadConfig({}, [`${flag}=`])),
        name,
      ).toEqual([
        expect.stringMatching(
          new RegExp(`^${flag}: needs a value \\(${flag} <.+> or ${flag}=<.+>\\)$`),
        ),
      ]);
    }
  });

  it('keep a value that contains "=" after the first one', () => {
    expect(loadConfig({}, ['--admin-token=a=b=']).adminToken).toBe('a=b=');
  });

  it('take PEM text and negative numbers as values, not as flags', () => {
    expect(pemOf(loadConfig({}, ['--auth-jwt-public-key', ED25519_SPKI]).auth)).toBe(ED25519_SPKI);
    expect(problemsOf(() => loadConfig({}, ['--port', '-5']))).toEqual([
      '--port: must be an integer from 0 to 65535 (got "-5")',
    ]);
  });

  it('let the last occurrence win', () => {
    expect(loadConfig({}, ['--port', '1', '--port=2']).port).toBe(2);
  });

  it('do not validate the variable they override', () => {
    expect(loadConfig({ PORT: 'abc' }, ['--port', '8081']).port).toBe(8081);
  });

  it('are named as flags in problems', () => {
    expect(problemsOf(() => loadConfig({ PORT: '1' }, ['--port', 'x']))).toEqual([
      '--port: must be an integer from 0 to 65535 (got "x")',
    ]);
  });

  it('report unknown flags, missing values and stray arguments with the bad values', () => {
    const problems = problemsOf(() =>
      loadConfig({ HEARTBEAT_MS: 'abc' }, [
        '--bogus',
        'x',
        '--HEARTBEAT_MS=5',
        '--port',
        '--host',
        'h',
        '-p',
        'stray',
        '--redis-url',
      ]),
    );
    expect(problems).toEqual([
      '--bogus: unknown flag; --help lists every flag',
      '--HEARTBEAT_MS: unknown flag (did you mean --heartbeat-ms?)',
      '--port: needs a value (--port <port> or --port=<port>)',
      '-p: unknown flag; settings use long flags such as --port 8080',
      '"stray": unexpected argument; settings are given as --name value, e.g. --port 8080',
      '--redis-url: needs a value (--redis-url <url> or --redis-url=<url>)',
      'HEARTBEAT_MS: must be an integer from 100 to 2147483647 (got "abc")',
    ]);
  });
});

describe('--help', () => {
  it('throws HelpRequested for --help and -h, even next to bad flags', () => {
    expect(() => loadConfig({}, ['--help'])).toThrow(HelpRequested);
    expect(() => loadConfig({ PORT: 'x' }, ['--bogus', '-h'])).toThrow(HelpRequested);
  });

  it('lists every flag with its variable and default', () => {
    const help = configHelp();
    for (const name of VARIABLES) {
      expect(help).toContain(`${flagOf(name)} `);
      expect(help).toContain(`(${name}; default: `);
    }
    expect(help).toContain('--heartbeat-ms <ms>  (HEARTBEAT_MS; default: 15000)');
    expect(help).toContain('(CORS_ORIGINS; default: * with auth off, none with auth on)');
    expect(help).toContain('-h, --help');
    expect(help.split('\n').every((line) => line.length <= 100)).toBe(true);
  });
});

describe('bad values', () => {
  const cases: [name: string, raw: string, problem: string][] = [
    ['PORT', 'abc', 'PORT: must be an integer from 0 to 65535 (got "abc")'],
    ['PORT', '1.5', 'PORT: must be an integer from 0 to 65535 (got "1.5")'],
    ['PORT', '1e3', 'PORT: must be an integer from 0 to 65535 (got "1e3")'],
    ['PORT', '-1', 'PORT: must be an integer from 0 to 65535 (got "-1")'],
    ['PORT', ' 80', 'PORT: must be an integer from 0 to 65535 (got " 80")'],
    ['PORT', '0x50', 'PORT: must be an integer from 0 to 65535 (got "0x50")'],
    ['PORT', '65536', 'PORT: must be an integer from 0 to 65535 (got 65536)'],
    ['ADMIN_PORT', '99999', 'ADMIN_PORT: must be an integer from 0 to 65535 (got 99999)'],
    ['HEARTBEAT_MS', '99', 'HEARTBEAT_MS: must be an integer from 100 to 2147483647 (got 99)'],
    [
      'HEARTBEAT_MS',
      '2147483648',
      'HEARTBEAT_MS: must be an integer from 100 to 2147483647 (got 2147483648)',
    ],
    ['REDIS_SHARDS', '0', 'REDIS_SHARDS: must be an integer from 1 to 16 (got 0)'],
    ['REDIS_SHARDS', '17', 'REDIS_SHARDS: must be an integer from 1 to 16 (got 17)'],
    [
      'HISTORY_SIZE',
      '10000001',
      'HISTORY_SIZE: must be an integer from 0 to 10000000 (got 10000001)',
    ],
    ['HISTORY_TTL_MS', '0', 'HISTORY_TTL_MS: must be an integer from 1 to 2147483647 (got 0)'],
    ['MAX_EVENT_BYTES', '0', 'MAX_EVENT_BYTES: must be an integer from 1 to 536870912 (got 0)'],
    ['MAX_CONNECTIONS', '0', 'MAX_CONNECTIONS: must be an integer >= 1 (got 0)'],
    [
      'MAX_CONNECTIONS',
      '99999999999999999999',
      'MAX_CONNECTIONS: must be an integer >= 1 (got 100000000000000000000)',
    ],
    ['MAX_BUFFERED_BYTES', '1_000', 'MAX_BUFFERED_BYTES: must be an integer >= 1 (got "1_000")'],
    [
      'TRUST_PROXY',
      'yes',
      'TRUST_PROXY: must be a number of proxy hops from 0 to 100, or true (1) or false (0) (got "yes")',
    ],
    [
      'TRUST_PROXY',
      '101',
      'TRUST_PROXY: must be a number of proxy hops from 0 to 100, or true (1) or false (0) (got "101")',
    ],
    [
      'LOG_LEVEL',
      'verbose',
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
    ],
    ['PLAYGROUND', 'yes', 'PLAYGROUND: must be 1, true, 0 or false (got "yes")'],
    [
      'HOST',
      'my host',
      'HOST: must be a host name or IP address such as 0.0.0.0, :: or localhost (got "my host")',
    ],
    ['NODE_ENV', '  ', 'NODE_ENV: must be a non-empty string (got "  ")'],
    [
      'REDIS_URL',
      'localhost:6379',
      'REDIS_URL: must start with redis:// or rediss:// (got "localhost:6379")',
    ],
    [
      'REDIS_URL',
      'http://u:hunter2@r',
      'REDIS_URL: must start with redis:// or rediss:// (got "http://u:[redacted]@r")',
    ],
    ['REDIS_URL', 'redis://', 'REDIS_URL: has no host name (got "redis://")'],
    [
      'AUTH_JWKS_URL',
      'ftp://idp/jwks',
      'AUTH_JWKS_URL: must start with http:// or https:// (got "ftp://idp/jwks")',
    ],
    [
      'AUTH_JWKS_URL',
      'not a url',
      'AUTH_JWKS_URL: must be a URL starting with http:// or https:// (got "not a url")',
    ],
    [
      'REDIS_PREFIX',
      'a:b',
      'REDIS_PREFIX: Redis prefix "a:b" is not allowed; use 1 to 64 characters from A-Z a-z 0-9 _ - .',
    ],
    ['REDIS_CLUSTER_NODES', 'a:0', 'REDIS_CLUSTER_NODES: "a:0" has port 0; a port is 1 to 65535'],
    [
      'REDIS_CLUSTER_NODES',
      '::1:7000',
      'REDIS_CLUSTER_NODES: "::1:7000" is not host:port (write IPv6 addresses in brackets: [::1]:6379)',
    ],
    [
      'CORS_ORIGINS',
      'https://a.example/app',
      'CORS_ORIGINS: "https://a.example/app" is not an origin; write scheme://host[:port] with no path, e.g. https://app.example.com',
    ],
    [
      'CORS_ORIGINS',
      'a.example',
      'CORS_ORIGINS: "a.example" is not an origin; write scheme://host[:port] with no path, e.g. https://app.example.com',
    ],
    [
      'CORS_ORIGINS',
      'https://a.example,*',
      'CORS_ORIGINS: "*" allows every origin and cannot be combined with others',
    ],
    [
      'AUTH_JWT_PUBLIC_KEY',
      'not a key',
      'AUTH_JWT_PUBLIC_KEY: must be a PEM public key ("-----BEGIN PUBLIC KEY-----") or certificate; write line breaks as real newlines or as \\n',
    ],
  ];

  it.each(cases)('%s=%j', (name, raw, problem) => {
    const error = configErrorOf(() => loadConfig({ [name]: raw }));
    expect(error).toMatchObject({ name: 'ConfigError', problems: [problem], message: problem });
  });

  it('never falls back to the default for a bad value', () => {
    expect(() => loadConfig({ HISTORY_SIZE: '-5' })).toThrow(ConfigError);
    expect(() => loadConfig({ PLAYGROUND: 'on' })).toThrow(ConfigError);
  });

  it('refuses a private key in AUTH_JWT_PUBLIC_KEY', () => {
    const pem = ED25519_PRIVATE.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(problemsOf(() => loadConfig({ AUTH_JWT_PUBLIC_KEY: pem }))).toEqual([
      'AUTH_JWT_PUBLIC_KEY: holds a private key; give the public key instead (openssl pkey -in key.pem -pubout)',
    ]);
  });

  it('reports every bad entry of a list, and stray commas', () => {
    expect(
      problemsOf(() =>
        loadConfig({ REDIS_SENTINELS: 'a:1,,b:x,c:70000', REDIS_SENTINEL_NAME: 'm' }),
      ),
    ).toEqual([
      'REDIS_SENTINELS: entry 2 of "a:1,,b:x,c:70000" is empty; remove the stray comma',
      'REDIS_SENTINELS: "b:x" is not host:port (write IPv6 addresses in brackets: [::1]:26379)',
      'REDIS_SENTINELS: "c:70000" has port 70000; a port is 1 to 65535',
    ]);
  });

  it('reports several bad settings in one error, in table order, then the rules', () => {
    const error = configErrorOf(() =>
      loadConfig({
        PORT: 'abc',
        HEARTBEAT_MS: '1.5',
        LOG_LEVEL: 'loud',
        TLS_CERT: '/c.pem',
        REDIS_SHARDS: '99',
      }),
    );
    const expected = [
      'PORT: must be an integer from 0 to 65535 (got "abc")',
      'REDIS_SHARDS: must be an integer from 1 to 16 (got 99)',
      'HEARTBEAT_MS: must be an integer from 100 to 2147483647 (got "1.5")',
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
      'TLS_KEY: required with TLS_CERT (HTTPS needs both)',
    ];
    expect(error).toMatchObject({ problems: expected, message: expected.join('\n') });
  });
});

describe('cross-field rules', () => {
  it('allows only one of REDIS_URL, REDIS_SENTINELS and REDIS_CLUSTER_NODES', () => {
    expect(
      problemsOf(() =>
        loadConfig({
          REDIS_URL: 'redis://r',
          REDIS_SENTINELS: 's',
          REDIS_SENTINEL_NAME: 'm',
          REDIS_CLUSTER_NODES: 'c',
        }),
      ),
    ).toEqual([
      'REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES: only one may be set (REDIS_URL for one server, REDIS_SENTINELS for Sentinel, REDIS_CLUSTER_NODES for Cluster)',
    ]);
    expect(
      problemsOf(() => loadConfig({ REDIS_URL: 'redis://r' }, ['--redis-cluster-nodes', 'c'])),
    ).toEqual([
      'REDIS_URL, --redis-cluster-nodes: only one may be set (REDIS_URL for one server, REDIS_SENTINELS for Sentinel, --redis-cluster-nodes for Cluster)',
    ]);
  });

  it('counts an invalid value as set for exclusivity', () => {
    expect(problemsOf(() => loadConfig({ REDIS_URL: 'x', REDIS_CLUSTER_NODES: 'c' }))).toEqual([
      'REDIS_URL: must be a URL starting with redis:// or rediss:// (got "x")',
      'REDIS_URL, REDIS_CLUSTER_NODES: only one may be set (REDIS_URL for one server, REDIS_SENTINELS for Sentinel, REDIS_CLUSTER_NODES for Cluster)',
    ]);
  });

  it('pairs REDIS_SENTINELS with REDIS_SENTINEL_NAME', () => {
    expect(problemsOf(() => loadConfig({ REDIS_SENTINELS: 's1,s2' }))).toEqual([
      'REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the name of the monitored master)',
    ]);
    expect(problemsOf(() => loadConfig({ REDIS_SENTINEL_NAME: 'm' }))).toEqual([
      'REDIS_SENTINEL_NAME: has no effect without REDIS_SENTINELS',
    ]);
  });

  it('pairs TLS_CERT with TLS_KEY', () => {
    expect(problemsOf(() => loadConfig({ TLS_CERT: 'c' }))).toEqual([
      'TLS_KEY: required with TLS_CERT (HTTPS needs both)',
    ]);
    expect(problemsOf(() => loadConfig({}, ['--tls-key', 'k']))).toEqual([
      'TLS_CERT: required with --tls-key (HTTPS needs both)',
    ]);
  });

  it('allows at most one way of verifying tokens', () => {
    expect(
      problemsOf(() =>
        loadConfig({
          AUTH_JWT_SECRET: 's',
          AUTH_JWKS_URL: 'https://j',
          AUTH_JWT_PUBLIC_KEY: ED25519_SPKI,
        }),
      ),
    ).toEqual([
      'AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY, AUTH_JWKS_URL: only one way of verifying tokens may be set',
    ]);
  });

  it('refuses an audience or issuer with auth off (a misspelt key would leave every topic open)', () => {
    expect(problemsOf(() => loadConfig({ AUTH_JWT_AUDIENCE: 'a', AUTH_JWT_ISSUER: 'i' }))).toEqual([
      'AUTH_JWT_AUDIENCE: has no effect without AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL; auth is off',
      'AUTH_JWT_ISSUER: has no effect without AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL; auth is off',
    ]);
  });

  it('keeps HEARTBEAT_MS below KEEP_ALIVE_TIMEOUT_MS, with either one set', () => {
    const tail =
      'a heartbeat slower than the idle timeouts on the path lets them close quiet streams';
    expect(problemsOf(() => loadConfig({ HEARTBEAT_MS: '65000' }))).toEqual([
      `HEARTBEAT_MS: must be below KEEP_ALIVE_TIMEOUT_MS (65000 >= 65000); ${tail}`,
    ]);
    expect(problemsOf(() => loadConfig({}, ['--keep-alive-timeout-ms', '10000']))).toEqual([
      `HEARTBEAT_MS: must be below --keep-alive-timeout-ms (15000 >= 10000); ${tail}`,
    ]);
    expect(loadConfig({ HEARTBEAT_MS: '64999' }).heartbeatMs).toBe(64_999);
  });

  it('does not compare a value that is already reported as bad', () => {
    expect(problemsOf(() => loadConfig({ HEARTBEAT_MS: '9999999999999' }))).toEqual([
      'HEARTBEAT_MS: must be an integer from 100 to 2147483647 (got 9999999999999)',
    ]);
  });

  it('refuses the same port for both listeners on the same host', () => {
    expect(problemsOf(() => loadConfig({ PORT: '9090' }))).toEqual([
      'PORT, ADMIN_PORT: must differ (both 9090 on 0.0.0.0)',
    ]);
    expect(loadConfig({ PORT: '9090', ADMIN_HOST: '127.0.0.1' }).port).toBe(9090);
    expect(loadConfig({ PORT: '0', ADMIN_PORT: '0' }).adminPort).toBe(0);
  });
});

describe('CORS_ORIGINS', () => {
  it('defaults to * with auth off and to none with auth on', () => {
    expect(loadConfig({}).corsOrigins).toBe('*');
    expect(loadConfig({ AUTH_JWT_SECRET: 's' }).corsOrigins).toEqual([]);
    expect(loadConfig({ AUTH_JWT_PUBLIC_KEY: ED25519_SPKI }).corsOrigins).toEqual([]);
    expect(loadConfig({ AUTH_JWKS_URL: 'http://idp/jwks' }).corsOrigins).toEqual([]);
  });

  it('is kept as set, whatever the auth', () => {
    expect(loadConfig({ AUTH_JWT_SECRET: 's', CORS_ORIGINS: '*' }).corsOrigins).toBe('*');
    expect(loadConfig({ CORS_ORIGINS: 'https://a.example' }).corsOrigins).toEqual([
      'https://a.example',
    ]);
  });

  it('normalizes origins to what browsers send and drops duplicates', () => {
    expect(
      loadConfig({
        CORS_ORIGINS:
          'HTTPS://App.Example.com:443/, http://localhost:3000, https://app.example.com, capacitor://LocalHost, http://[::1]:8080',
      }).corsOrigins,
    ).toEqual([
      'https://app.example.com',
      'http://localhost:3000',
      'capacitor://localhost',
      'http://[::1]:8080',
    ]);
  });
});

describe('PUBLIC_TOPICS', () => {
  it('stores each pattern normalized, without duplicates', () => {
    expect(
      loadConfig({ AUTH_JWT_SECRET: 's', PUBLIC_TOPICS: ' /news/** , time,pets/*/photos, news/**' })
        .publicTopics,
    ).toEqual(['news/**', 'time', 'pets/*/photos']);
  });

  it('reports every invalid pattern on its own line', () => {
    const problems = problemsOf(() => loadConfig({ PUBLIC_TOPICS: 'ok/**,a/**/b,pets/,x y' }));
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^PUBLIC_TOPICS: "a\/\*\*\/b" is not a valid pattern: ./);
    expect(problems[1]).toMatch(/^PUBLIC_TOPICS: "pets\/" is not a valid pattern: ./);
    expect(problems[2]).toMatch(/^PUBLIC_TOPICS: "x y" is not a valid pattern: ./);
  });
});

describe('AUTH_JWT_PUBLIC_KEY', () => {
  it('accepts a one-line key with literal \\n escapes', () => {
    const oneLine = ED25519_SPKI.trim().replaceAll('\n', '\\n');
    expect(oneLine).not.toContain('\n');
    expect(loadConfig({ AUTH_JWT_PUBLIC_KEY: oneLine }).auth).toEqual({
      kind: 'publicKey',
      pem: ED25519_SPKI,
    });
  });

  it('stores PKCS#1 keys and certificates as SPKI PEM', () => {
    const fromPkcs1 = loadConfig({ AUTH_JWT_PUBLIC_KEY: RSA_PKCS1 }).auth;
    expect(RSA_PKCS1).toContain('BEGIN RSA PUBLIC KEY');
    expect(pemOf(fromPkcs1)).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const fromCertificate = pemOf(loadConfig({ AUTH_JWT_PUBLIC_KEY: EC_CERTIFICATE }).auth);
    expect(fromCertificate).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(createPublicKey(fromCertificate).asymmetricKeyType).toBe('ec');
  });
});

describe('resolveConfig', () => {
  it('applies the same defaults as the environment', () => {
    expect(resolveConfig()).toEqual(DEFAULTS);
    expect(resolveConfig({})).toEqual(loadConfig({}));
    expect(Object.isFrozen(resolveConfig())).toBe(true);
  });

  it('takes camelCase options with typed values', () => {
    const options: GatewayOptions = {
      port: 0,
      adminPort: 0,
      redisUrl: 'redis://localhost:6379',
      heartbeatMs: 500,
      publicTopics: ['/time', 'news/**'],
      corsOrigins: ['https://App.example'],
      trustProxy: true,
      redisSentinels: undefined,
      authJwtSecret: 'k',
      playground: false,
      logLevel: 'silent',
    };
    expect(resolveConfig(options)).toEqual({
      ...DEFAULTS,
      port: 0,
      adminPort: 0,
      redisUrl: 'redis://localhost:6379',
      heartbeatMs: 500,
      publicTopics: ['time', 'news/**'],
      corsOrigins: ['https://app.example'],
      trustProxy: 1,
      auth: { kind: 'secret', secret: 'k' },
      playground: false,
      logLevel: 'silent',
    });
  });

  it('takes auth as an object', () => {
    expect(resolveConfig({ auth: { kind: 'jwks', url: 'https://idp/jwks' } }).auth).toEqual({
      kind: 'jwks',
      url: 'https://idp/jwks',
    });
    expect(pemOf(resolveConfig({ auth: { kind: 'publicKey', pem: RSA_PKCS1 } }).auth)).toBe(
      pemOf(loadConfig({ AUTH_JWT_PUBLIC_KEY: RSA_PKCS1 }).auth),
    );
    expect(resolveConfig({ auth: { kind: 'none' } })).toEqual(DEFAULTS);
    expect(
      resolveConfig({ redisSentinels: [{ host: 's', port: 1 }], redisSentinelName: 'm' }),
    ).toMatchObject({ redisSentinels: [{ host: 's', port: 1 }] });
  });

  it('names options in problems and reports them all together', () => {
    const options: Record<string, unknown> = {
      port: '8080',
      heartbeatMs: 1.5,
      heartBeatMs: 100,
      historySize: -1,
      playground: 'yes',
      corsOrigins: 'https://a.example',
      publicTopics: ['a/**/b'],
      redisSentinels: [{ host: 'a', port: 0 }],
      redisSentinelName: 'm',
      auth: { kind: 'secret', secret: '' },
      trustProxy: 2.5,
      logLevel: 'INFO',
    };
    expect(problemsOf(() => resolveConfig(options as GatewayOptions))).toEqual([
      'heartBeatMs: unknown option (did you mean heartbeatMs?)',
      'port: must be an integer from 0 to 65535 (got "8080")',
      "redisSentinels: must be a non-empty array of { host, port } with ports 1 to 65535 (got [ { host: 'a', port: 0 } ])",
      'heartbeatMs: must be an integer from 100 to 2147483647 (got 1.5)',
      'historySize: must be an integer from 0 to 10000000 (got -1)',
      'auth.secret: must be a non-empty string',
      expect.stringMatching(/^publicTopics: "a\/\*\*\/b" is not a valid pattern: ./),
      'corsOrigins: must be an array of strings (got "https://a.example")',
      'trustProxy: must be a number of proxy hops from 0 to 100, or true (1) or false (0) (got 2.5)',
      'logLevel: must be one of fatal, error, warn, info, debug, trace, silent (got "INFO")',
      'playground: must be 1, true, 0 or false (got "yes")',
    ]);
  });

  it('names options in cross-field problems', () => {
    expect(problemsOf(() => resolveConfig({ heartbeatMs: 70_000, tlsCert: 'c' }))).toEqual([
      'tlsKey: required with tlsCert (HTTPS needs both)',
      'heartbeatMs: must be below keepAliveTimeoutMs (70000 >= 65000); a heartbeat slower than the idle timeouts on the path lets them close quiet streams',
    ]);
    expect(
      problemsOf(() =>
        resolveConfig({ redisUrl: 'redis://a', redisClusterNodes: [{ host: 'b', port: 1 }] }),
      ),
    ).toEqual([
      'redisUrl, redisClusterNodes: only one may be set (redisUrl for one server, redisSentinels for Sentinel, redisClusterNodes for Cluster)',
    ]);
  });

  it('refuses auth given twice, or in an unknown shape', () => {
    expect(problemsOf(() => resolveConfig({ auth: { kind: 'none' }, authJwtSecret: 's' }))).toEqual(
      ['auth, authJwtSecret: give auth either as auth or as authJwtSecret, not both'],
    );
    const bad = { auth: { kind: 'password', secret: 'hunter2' } } as unknown as GatewayOptions;
    const problems = problemsOf(() => resolveConfig(bad));
    expect(problems).toEqual([
      "auth: must be { kind: 'none' }, { kind: 'secret', secret }, { kind: 'publicKey', pem } or { kind: 'jwks', url }",
    ]);
  });

  it('refuses options that are not an object', () => {
    expect(problemsOf(() => resolveConfig('port=1' as unknown as GatewayOptions))).toEqual([
      'options: must be an object (got "port=1")',
    ]);
  });
});

describe('describeConfig', () => {
  it('hides the JWT secret, the admin token and the Redis password', () => {
    const config = loadConfig({
      AUTH_JWT_SECRET: 'jwt-secret-value',
      ADMIN_TOKEN: 'admin-token-value',
      REDIS_URL: 'rediss://user:redis-password@redis.internal:6380/0?password=query-secret&db=1',
    });
    const described = describeConfig(config);
    const text = JSON.stringify(described);
    for (const secret of [
      'jwt-secret-value',
      'admin-token-value',
      'redis-password',
      'query-secret',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(described).toMatchObject({
      auth: { kind: 'secret', secret: '[redacted]' },
      adminToken: '[redacted]',
      redisUrl: 'rediss://user:[redacted]@redis.internal:6380/0?password=[redacted]&db=1',
      port: 8080,
      heartbeatMs: 15_000,
    });
    expect(config.adminToken).toBe('admin-token-value');
  });

  it('shows a public key as its fingerprint and leaves unset secrets unset', () => {
    const described = describeConfig(loadConfig({ AUTH_JWT_PUBLIC_KEY: ED25519_SPKI }));
    const der = ED25519_PUBLIC.export({ type: 'spki', format: 'der' });
    expect(described['auth']).toEqual({
      kind: 'publicKey',
      sha256: createHash('sha256').update(der).digest('hex'),
    });
    expect(described['adminToken']).toBeUndefined();
    expect(described['redisUrl']).toBeUndefined();
  });

  it('never echoes secrets into problem lines', () => {
    const options = { adminToken: 424_242, auth: { kind: 'secret', secret: [' hunter2 '] } };
    const error = configErrorOf(() => resolveConfig(options as unknown as GatewayOptions));
    expect(error.problems).toEqual([
      'auth.secret: must be a non-empty string',
      'adminToken: must be a non-empty string',
    ]);
    expect(error.message).not.toMatch(/424242|hunter2/);
  });
});
