/**
 * The real `redis-server` the integration tests use, from the workspace's @ssehub/local-redis
 * (also used by the gateway's tests and the local stack).
 */
export { RedisServer, freePort } from '@ssehub/local-redis';
