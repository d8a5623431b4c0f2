/**
 * `@ssehub/publisher`: publish events to an ssehub deployment from a backend service, straight to
 * its Redis (SPEC.md section 8).
 *
 * @packageDocumentation
 */
export { PublisherError } from './errors.js';
export type { PublisherErrorCode, PublisherErrorOptions } from './errors.js';
export { createPublisher } from './publisher.js';
export { DEFAULT_META } from './options.js';
export type {
  BreakerState,
  DeploymentSettings,
  PublishInput,
  PublishOptions,
  Publisher,
  PublisherBreakerOptions,
  PublisherOptions,
} from './types.js';
export { MAX_IDEMPOTENCY_KEY_LENGTH } from './validate.js';
export { MAX_BATCH_EVENTS, createHttpPublisher } from './http-publisher.js';
export type { HttpPublisherOptions } from './http-publisher.js';
export type { RetryOptions } from './retry.js';
