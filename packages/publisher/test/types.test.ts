import { expectTypeOf, it } from 'vitest';
import type { Cluster, Redis } from 'ioredis';
import {
  createHttpPublisher,
  createPublisher,
  type HttpPublisherOptions,
  type PublisherError,
  type BreakerState,
  type PublishInput,
  type Publisher,
  type PublisherErrorCode,
  type PublisherOptions,
} from '../src/index.js';

it('types the public API', () => {
  expectTypeOf(createPublisher).parameter(0).toEqualTypeOf<PublisherOptions>();
  expectTypeOf(createPublisher).returns.toEqualTypeOf<Publisher>();
  expectTypeOf<PublisherOptions['redis']>().toEqualTypeOf<string | Redis | Cluster>();
  expectTypeOf<Publisher['publish']>().returns.toEqualTypeOf<Promise<string>>();
  expectTypeOf<Publisher['publishMany']>().parameter(0).toEqualTypeOf<readonly PublishInput[]>();
  expectTypeOf<Publisher['publishMany']>().returns.toEqualTypeOf<Promise<string[]>>();
  expectTypeOf<Publisher['close']>().returns.toEqualTypeOf<Promise<void>>();
  expectTypeOf<Publisher['state']>().toEqualTypeOf<BreakerState>();
  expectTypeOf<BreakerState>().toEqualTypeOf<'closed' | 'open' | 'half_open'>();
  expectTypeOf<PublisherError>().toExtend<Error>();
  expectTypeOf<PublisherError['code']>().toEqualTypeOf<PublisherErrorCode>();
  expectTypeOf<PublisherError['ids']>().toEqualTypeOf<readonly (string | null)[] | undefined>();
  expectTypeOf<'TIMEOUT'>().toExtend<PublisherErrorCode>();
  expectTypeOf<'CONFIG_MISMATCH'>().toExtend<PublisherErrorCode>();
});

it('types the HTTP publisher like the Redis one', () => {
  expectTypeOf(createHttpPublisher).parameter(0).toEqualTypeOf<HttpPublisherOptions>();
  expectTypeOf(createHttpPublisher).returns.toEqualTypeOf<Publisher>();
  expectTypeOf<HttpPublisherOptions['url']>().toEqualTypeOf<string | URL>();
  expectTypeOf<HttpPublisherOptions['timeoutMs']>().toEqualTypeOf<number | undefined>();
  expectTypeOf<'UNAUTHORIZED'>().toExtend<PublisherErrorCode>();
  expectTypeOf<'FORBIDDEN'>().toExtend<PublisherErrorCode>();
});
