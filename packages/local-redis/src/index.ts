export { freePort, isListening, waitForPort } from './ports.js';
export { RedisServer, type RedisServerOptions } from './redis-server.js';
