/**
 * The human summary of a run: the seed and the command that replays it, the faults by kind, the
 * publish outcomes, the delivery counts and every violation kind, and for the first lost events
 * their times next to the faults around them.
 */
import type { Verdict } from './verdict.js';
import type { FaultRecord, History } from './history.js';

/** Options of {@link formatSummary}. */
export interface SummaryOptions {
  readonly history: History;
  readonly verdict: Verdict;
  readonly runDir: string;
  readonly durationSeconds: number;
  readonly caughtUp: boolean;
  /** Extra flags of the run, for the replay command (`--faults …`). */
  readonly extraFlags?: string;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '?' : `${(ms / 1000).toFixed(2)}s`;
}

function faultLine(f: FaultRecord): string {
  const healed = f.healedAt === undefined ? '' : `..${seconds(f.healedAt)}`;
  const error = f.error === undefined ? '' : ` [failed: ${f.error}]`;
  return `${seconds(f.at)}${healed} ${f.kind} ${f.target}: ${f.detail}${error}`;
}

/** The faults active within `windowMs` before `at` (or still active at `at`). */
export function faultsNear(
  faults: readonly FaultRecord[],
  at: number,
  windowMs = 5000,
): FaultRecord[] {
  return faults.filter((f) => f.at <= at + 500 && (f.healedAt ?? f.at) >= at - windowMs);
}

/** The summary text. */
export function formatSummary(o: SummaryOptions): string {
  const { history, verdict } = o;
  const lines: string[] = [];
  const t = verdict.totals;
  lines.push(
    `chaos ${history.topology} seed ${history.seed}: ${verdict.ok ? 'PASS' : 'FAIL'} (${o.durationSeconds} s of faults, ${history.shards} shard(s))`,
  );
  lines.push(
    `replay: pnpm chaos --seed ${history.seed} --duration ${o.durationSeconds} --topology ${history.topology}${o.extraFlags ?? ''}`,
  );
  const byKind = new Map<string, number>();
  for (const f of history.faults) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
  const failedFaults = history.faults.filter((f) => f.error !== undefined).length;
  lines.push(
    `faults: ${history.faults.length} (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')})${failedFaults > 0 ? `, ${failedFaults} could not be carried out` : ''}`,
  );
  lines.push(
    `publishes: ${verdict.accepted} accepted, ${verdict.unknown} unknown, ${verdict.rejected} rejected; ${verdict.notHeld} accepted but no longer held by Redis`,
  );
  lines.push(
    `deliveries: ${t.delivered} to ${verdict.subscribers.length} subscribers; expected ${t.expected}, excused by ${t.resets} resets ${t.excused}`,
  );
  lines.push(
    `violations: lost ${t.lost}, unsignalled gaps ${t.gaps}, repeated ${t.repeated}, out-of-order ${t.outOfOrder}, phantom ${t.phantom}, fatal ${t.fatal}, stored twice ${verdict.storedTwice.length}, gateway crashes ${verdict.crashes}`,
  );
  if (!o.caughtUp) lines.push('note: not every subscriber caught up before the timeout');
  lines.push('per subscriber:');
  for (const s of verdict.subscribers) {
    lines.push(
      `  ${s.name.padEnd(9)} ${s.patterns.join(' ').padEnd(14)} conns ${String(s.connections).padStart(3)} expected ${String(s.expected).padStart(6)} delivered ${String(s.delivered).padStart(6)} lost ${s.lost.length} gaps ${s.gaps} rep ${s.repeated.length} ooo ${s.outOfOrder.length} phantom ${s.phantom.length} resets ${s.resets}${s.fatal.length > 0 ? ` FATAL ${s.fatal.map((f) => f.status).join(',')}` : ''}${s.neverStarted ? ' (never started)' : ''}`,
    );
  }
  if (!verdict.ok) {
    const lost = verdict.subscribers.flatMap((s) => s.lost);
    lost.sort((a, b) => (a.acceptedAt ?? 0) - (b.acceptedAt ?? 0));
    if (lost.length > 0) {
      lines.push('first lost events (accepted at, and the faults around then):');
      const seen = new Set<string>();
      for (const l of lost) {
        if (seen.size >= 6) break;
        if (seen.has(l.key)) continue;
        seen.add(l.key);
        const also = lost.filter((x) => x.key === l.key).map((x) => x.subscriber);
        lines.push(
          `  ${l.key} on ${l.topic} id ${l.id} accepted ${seconds(l.acceptedAt)} ${l.skipped ? '(skipped: later events arrived)' : '(never reached)'} missed by ${also.join(',')}`,
        );
        for (const f of faultsNear([...history.faults, ...history.crashes], l.acceptedAt ?? 0)) {
          lines.push(`      ${faultLine(f)}`);
        }
      }
    }
    const details: [string, string[]][] = [
      [
        'repeated',
        verdict.subscribers.flatMap((s) =>
          s.repeated.map(
            (r) => `${r.subscriber} ${r.key} x${r.times} at ${r.at.map(seconds).join(',')}`,
          ),
        ),
      ],
      [
        'out of order',
        verdict.subscribers.flatMap((s) =>
          s.outOfOrder.map(
            (r) => `${r.subscriber} ${r.key} id ${r.id} after ${r.previousId} at ${seconds(r.at)}`,
          ),
        ),
      ],
      [
        'phantom',
        verdict.subscribers.flatMap((s) =>
          s.phantom.map((r) => `${r.subscriber} ${r.why} ${r.detail} at ${seconds(r.at)}`),
        ),
      ],
      [
        'fatal',
        verdict.subscribers.flatMap((s) =>
          s.fatal.map(
            (r) => `${r.subscriber} ${r.status} ${r.body.slice(0, 120)} at ${seconds(r.at)}`,
          ),
        ),
      ],
    ];
    for (const [title, items] of details) {
      if (items.length === 0) continue;
      lines.push(`first ${title}:`);
      for (const item of items.slice(0, 5)) lines.push(`  ${item}`);
    }
    if (verdict.storedTwice.length > 0) {
      lines.push(`stored twice: ${verdict.storedTwice.slice(0, 5).join(', ')}`);
    }
  }
  if (history.crashes.length > 0) {
    lines.push('gateway crashes and stuck gateways (each restarted):');
    for (const f of history.crashes) lines.push(`  ${faultLine(f)}`);
  }
  lines.push('faults injected:');
  for (const f of history.faults) lines.push(`  ${faultLine(f)}`);
  lines.push(`run dir: ${o.runDir} (history.jsonl, plan.json, gateway*.log, redis*/redis.log)`);
  return lines.join('\n');
}
