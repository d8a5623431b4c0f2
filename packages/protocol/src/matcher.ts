import type { Pattern } from './pattern.js';

/**
 * One trie node: the patterns that have consumed exactly the segments on the path to it.
 * Children and value sets are created on first use, since most nodes of a large trie (say
 * 10,000 `users/<id>/**` subscriptions) use only one of them.
 */
interface TrieNode<T> {
  /** Literal next segments. Never holds `*` or `**`: those have their own slots. */
  children: Map<string, TrieNode<T>> | undefined;
  /** The `*` next segment. */
  star: TrieNode<T> | undefined;
  /** Values of patterns that end here. */
  exact: Set<T> | undefined;
  /** Values of patterns that end here with `**` (match here and everything below). */
  glob: Set<T> | undefined;
}

function createNode<T>(): TrieNode<T> {
  return { children: undefined, star: undefined, exact: undefined, glob: undefined };
}

function isEmptyNode(node: TrieNode<unknown>): boolean {
  return (
    node.children === undefined &&
    node.star === undefined &&
    node.exact === undefined &&
    node.glob === undefined
  );
}

function countNodes(node: TrieNode<unknown>): number {
  let count = 1;
  if (node.star !== undefined) count += countNodes(node.star);
  if (node.children !== undefined)
    for (const child of node.children.values()) count += countNodes(child);
  return count;
}

function addAll<T>(from: Set<T> | undefined, into: Set<T>): void {
  if (from !== undefined) for (const value of from) into.add(value);
}

/** A step down the trie in {@link PatternMatcher.remove}, kept to prune on the way back up. */
interface Step<T> {
  readonly parent: TrieNode<T>;
  /** The literal segment, or `undefined` for the `*` slot. */
  readonly segment: string | undefined;
  readonly node: TrieNode<T>;
}

const STAR = '*';
const GLOB = '**';
const SLASH = 0x2f;

let nodeCountOf: (matcher: PatternMatcher<unknown>) => number;

/**
 * Maps patterns to values (for the gateway: connections) and finds every value whose pattern
 * matches a topic. It is a trie over segments with a `*` slot per node and a `**` value set per
 * node, so {@link PatternMatcher.match} costs O(segments × wildcard branches) whatever the number
 * of patterns, instead of one `matches()` call per subscription. This is the source of truth
 * for which connections get an event (DESIGN.md "Data path").
 *
 * @typeParam T - Value stored per pattern; compared with `Set` semantics (SameValueZero).
 */
export class PatternMatcher<T> {
  readonly #root: TrieNode<T> = createNode();
  #size = 0;

  static {
    // Test hook without public API: only this module can count nodes (see internalNodeCount).
    nodeCountOf = (matcher) => countNodes(matcher.#root) - 1;
  }

  /**
   * Registers `value` under `pattern`. Adding the same value under the same pattern text again
   * does nothing, so callers need no bookkeeping of their own.
   *
   * @param pattern - From `parsePattern` or `subtreePattern`.
   * @param value - Value returned by {@link PatternMatcher.match} for matching topics.
   */
  add(pattern: Pattern, value: T): void {
    let node = this.#root;
    for (const segment of pattern.segments) {
      if (segment === GLOB) {
        // "**" is always last (parsePattern refuses it elsewhere), so it ends the walk.
        node.glob ??= new Set();
        this.#insert(node.glob, value);
        return;
      }
      node = segment === STAR ? (node.star ??= createNode()) : this.#child(node, segment);
    }
    node.exact ??= new Set();
    this.#insert(node.exact, value);
  }

  /**
   * Unregisters `value` from `pattern` and deletes the trie nodes that no longer hold anything,
   * so a long-lived matcher does not grow with every topic ever subscribed.
   *
   * @returns Whether the entry existed.
   */
  remove(pattern: Pattern, value: T): boolean {
    const steps: Step<T>[] = [];
    let node = this.#root;
    let values: Set<T> | undefined;
    for (const segment of pattern.segments) {
      if (segment === GLOB) {
        values = node.glob;
        break;
      }
      const next = segment === STAR ? node.star : node.children?.get(segment);
      if (next === undefined) return false;
      steps.push({ parent: node, segment: segment === STAR ? undefined : segment, node: next });
      node = next;
    }
    const isGlob = pattern.endsWithGlob;
    if (!isGlob) values = node.exact;
    if (values === undefined || !values.delete(value)) return false;
    this.#size--;
    if (values.size === 0) {
      if (isGlob) node.glob = undefined;
      else node.exact = undefined;
    }
    this.#prune(steps);
    return true;
  }

  /**
   * Every value with a pattern that matches `topic`, each once even when several of its patterns
   * match (SPEC.md section 3: an event is delivered once per connection).
   *
   * This is the per-event hot path, so `topic` is not validated: pass a valid topic (as relayed
   * from a publish, which was validated there). A leading `/` is dropped.
   *
   * @param topic - A valid topic.
   * @param into - Set to add the values to, so a caller can reuse one set across events or
   *   gather several matchers' results; a new set when omitted.
   * @returns `into`, or the new set.
   */
  match(topic: string, into: Set<T> = new Set<T>()): Set<T> {
    if (this.#size === 0) return into;
    const normalized = topic.charCodeAt(0) === SLASH ? topic.slice(1) : topic;
    this.#collect(this.#root, normalized.split('/'), 0, into);
    return into;
  }

  /** Number of distinct (pattern text, value) entries. */
  get size(): number {
    return this.#size;
  }

  #insert(values: Set<T>, value: T): void {
    if (values.has(value)) return;
    values.add(value);
    this.#size++;
  }

  #child(node: TrieNode<T>, segment: string): TrieNode<T> {
    node.children ??= new Map();
    let child = node.children.get(segment);
    if (child === undefined) {
      child = createNode();
      node.children.set(segment, child);
    }
    return child;
  }

  #prune(steps: readonly Step<T>[]): void {
    for (let i = steps.length - 1; i >= 0; i--) {
      const step = steps[i];
      if (step === undefined || !isEmptyNode(step.node)) return;
      const { parent, segment } = step;
      if (segment === undefined) {
        parent.star = undefined;
      } else if (parent.children !== undefined) {
        parent.children.delete(segment);
        if (parent.children.size === 0) parent.children = undefined;
      }
    }
  }

  #collect(node: TrieNode<T>, segments: readonly string[], depth: number, into: Set<T>): void {
    // "**" matches zero or more further segments, so its values apply at any remaining depth.
    addAll(node.glob, into);
    const segment = segments[depth];
    if (segment === undefined) {
      addAll(node.exact, into);
      return;
    }
    const child = node.children?.get(segment);
    if (child !== undefined) this.#collect(child, segments, depth + 1, into);
    if (node.star !== undefined) this.#collect(node.star, segments, depth + 1, into);
  }
}

/**
 * Number of trie nodes below the root of `matcher`: 0 once every entry is removed. For tests
 * that check pruning; not exported from the package entry.
 *
 * @internal
 */
export function internalNodeCount(matcher: PatternMatcher<unknown>): number {
  return nodeCountOf(matcher);
}
