/**
 * The real `redis-server` the Redis tests use, from the workspace's @ssehub/local-redis (also
 * used by the publisher's tests and the local stack).
 */
export { RedisServer, waitForPort, type RedisServerOptions } from '@ssehub/local-redis';
