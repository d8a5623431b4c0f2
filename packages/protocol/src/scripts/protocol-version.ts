/**
 * Protocol version stored in each shard's meta hash (`ensure-meta.lua`, ARGV[1]); a writer of
 * another version refuses to run. Bump it with any change to the keys, fields or message format
 * the scripts share.
 */
export const REDIS_PROTOCOL_VERSION = '1';
