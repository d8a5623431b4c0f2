export {
  collectOutput,
  isRunning,
  spawnListening,
  spawnNode,
  stopProcess,
  type CollectedOutput,
  type ListeningProcess,
  type ProcessResult,
  type SpawnListeningOptions,
  type SpawnNodeOptions,
} from './child-process.js';
export { eventually, sleep, type EventuallyOptions } from './eventually.js';
export {
  freeClusterPorts,
  freePort,
  isFree,
  isListening,
  waitForPort,
  type HostPort,
} from './ports.js';
export { parseInfo, redisCli, redisCliText, redisInfo } from './redis-cli.js';
export { RedisCluster, type ClusterNode } from './redis-cluster.js';
export {
  RedisSentinelGroup,
  type RedisSentinelOptions,
  type SentinelNode,
} from './redis-sentinel.js';
export { RedisServer, redisServerArgs, type RedisServerOptions } from './redis-server.js';
