/**
 * The pino logger (STYLE.md A14): built once per gateway, credentials redacted, pretty lines
 * when a person is watching a terminal and JSON lines otherwise.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export interface LoggerOptions {
  readonly level: LevelWithSilent;
  /** Pretty, coloured lines (for a TTY); JSON lines otherwise. @defaultValue false */
  readonly pretty?: boolean;
}

const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.adminToken',
];

export function createLogger(options: LoggerOptions): Logger {
  const base = {
    level: options.level,
    base: { service: 'ssehub-gateway' },
    // A setting that is not set stays absent instead of reading as a redacted secret.
    redact: {
      paths: REDACT,
      censor: (value: unknown) => (value === undefined ? undefined : '[redacted]'),
    },
  };
  if (options.pretty === true) {
    return pino(
      base,
      pretty({
        colorize: true,
        ignore: 'service,pid,hostname',
        translateTime: 'HH:MM:ss.l',
        sync: true,
      }),
    );
  }
  return pino(base);
}
