/**
 * Reading the admin port's `/metrics` (Prometheus text, the subset prom-client writes): a whole
 * scrape with sums by name and labels, or one value at a time.
 */

/** One sample of a Prometheus text exposition. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses Prometheus text format (the subset prom-client writes). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const [, name = '', labelText = '', valueText = ''] = match;
    const labels: Record<string, string> = {};
    for (const [, key = '', value = ''] of labelText.matchAll(
      /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g,
    )) {
      labels[key] = value;
    }
    samples.push({ name, labels, value: Number(valueText) });
  }
  return samples;
}

/** The `# TYPE` of each metric family. */
export function metricTypes(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const [, name = '', type = ''] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm))
    types.set(name, type);
  return types;
}

export interface Scrape {
  readonly text: string;
  readonly contentType: string | null;
  /** Sum of the samples of `name` whose labels include `labels`; undefined when there is none. */
  find(name: string, labels?: Readonly<Record<string, string>>): number | undefined;
  /** Sum of the samples of `name` whose labels include `labels` (0 when there is none). */
  value(name: string, labels?: Readonly<Record<string, string>>): number;
}

/** GET /metrics on the admin port (with `headers`, e.g. a token); rejects unless it answers 200. */
export async function scrape(
  adminUrl: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<Scrape> {
  const res = await fetch(`${adminUrl}/metrics`, { headers });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${text}`);
  const samples = parseMetrics(text);
  const find = (
    name: string,
    labels: Readonly<Record<string, string>> = {},
  ): number | undefined => {
    const matching = samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
    return matching.length === 0 ? undefined : matching.reduce((sum, s) => sum + s.value, 0);
  };
  return {
    text,
    contentType: res.headers.get('content-type'),
    find,
    value: (name, labels) => find(name, labels) ?? 0,
  };
}

/**
 * One value from the admin port's `/metrics`, e.g. `metricValue(adminUrl, 'ssehub_connections')`
 * or with labels `{ code: 'INVALID_TOPIC' }`: the sum of the series whose labels include those
 * (all of a labelled metric's series when none are given); undefined when there is none.
 */
export async function metricValue(
  adminUrl: string,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): Promise<number | undefined> {
  return (await scrape(adminUrl)).find(name, labels);
}
