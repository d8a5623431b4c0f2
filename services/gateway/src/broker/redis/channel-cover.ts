/**
 * The minimal cover of a replica's channels (DESIGN.md "Why not PSUBSCRIBE per pattern"): a
 * channel need not be subscribed when a subscribed channel already brings its events, namely the
 * subtree channel of the topic or of an ancestor (for an exact channel), of a proper ancestor
 * (for a subtree channel), or the shard's wildcard channel. Then each event reaches an interested
 * replica once. Channel names come from @ssehub/protocol's builders:
 * `<prefix>:{<prefix>:s<n>}:t:<topic>`, `…:sub:<topic>` and `…:all`.
 */

interface ParsedChannel {
  /** `<prefix>:{<prefix>:s<n>}:`, shared by every channel of the shard. */
  readonly base: string;
  readonly kind: 'exact' | 'subtree' | 'all';
  /** The topic, for exact and subtree channels. */
  readonly topic: string;
}

/** Splits a channel name; undefined for a name the builders did not make. */
export function parseChannel(channel: string): ParsedChannel | undefined {
  const tagEnd = channel.indexOf('}:');
  if (tagEnd === -1) return undefined;
  const base = channel.slice(0, tagEnd + 2);
  const rest = channel.slice(tagEnd + 2);
  if (rest === 'all') return { base, kind: 'all', topic: '' };
  if (rest.startsWith('t:')) return { base, kind: 'exact', topic: rest.slice(2) };
  if (rest.startsWith('sub:')) return { base, kind: 'subtree', topic: rest.slice(4) };
  return undefined;
}

/**
 * The channels that would bring `channel`'s events besides itself, nearest first: the subtree
 * channels of its topic's ancestors (and of the topic itself for an exact channel), then the
 * shard's wildcard channel.
 */
export function coveringChannels(channel: string): string[] {
  const parsed = parseChannel(channel);
  if (parsed === undefined || parsed.kind === 'all') return [];
  const out: string[] = [];
  let topic = parsed.kind === 'exact' ? parsed.topic : parentOf(parsed.topic);
  while (topic !== undefined) {
    out.push(`${parsed.base}sub:${topic}`);
    topic = parentOf(topic);
  }
  out.push(`${parsed.base}all`);
  return out;
}

/** True when `cover` brings every event of `channel` (and is not the same channel). */
export function isCoveredBy(channel: string, cover: string): boolean {
  return coveringChannels(channel).includes(cover);
}

function parentOf(topic: string): string | undefined {
  const cut = topic.lastIndexOf('/');
  return cut === -1 ? undefined : topic.slice(0, cut);
}
