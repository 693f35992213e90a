// pino logger with the fleet's redaction rules. The only module besides metrics.ts that imports pino.
import { type Logger, pino } from 'pino';
import { traceLogFields } from './tracing.js';

export type { Logger };

/** Paths that never reach a log line, whatever a caller passes in. */
const REDACT_PATHS = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'cookie',
  '*.cookie',
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'apiKey',
  '*.apiKey',
  'api_key',
  '*.api_key',
  'connectionString',
  '*.connectionString',
  'databaseUrl',
  '*.databaseUrl',
];

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: string;
  name?: string;
  /** Write to this stream instead of stdout (tests). */
  destination?: NodeJS.WritableStream;
  /**
   * Masks secrets in every string a log line carries (the message and every field, nested), e.g. the
   * server's `auditRedact`: what is masked in the audit is masked in the logs too.
   */
  redactText?: (text: string) => string;
}

/** How deep {@link redactDeep} walks a log argument (log fields are shallow; deeper is cut). */
const REDACT_DEPTH = 6;

/** `value` with `mask` applied to every string in it; Errors become their (masked) message and stack. */
function redactDeep(value: unknown, mask: (text: string) => string, depth = 0): unknown {
  if (typeof value === 'string') return mask(value);
  if (value === null || typeof value !== 'object' || depth >= REDACT_DEPTH) return value;
  if (value instanceof Error)
    return {
      type: value.name,
      message: mask(value.message),
      ...(value.stack ? { stack: mask(value.stack) } : {}),
    };
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, mask, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, mask, depth + 1);
  return out;
}

/** Creates the JSON logger every fleet process uses. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const opts = {
    level: options.level ?? 'info',
    base: options.name ? { service: options.name } : {},
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // The active span's trace_id and span_id on every line written within a request (issue 16), so one
    // call's lines are found by the trace id of its audit record.
    mixin: traceLogFields,
    ...(options.redactText
      ? {
          hooks: {
            logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
              const mask = options.redactText!;
              method.apply(
                this,
                args.map((a) => redactDeep(a, mask)),
              );
            },
          },
        }
      : {}),
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}
