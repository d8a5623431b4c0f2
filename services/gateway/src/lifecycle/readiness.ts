/**
 * The replica's lifecycle as the outside sees it. `/readyz` is about this process only (started,
 * not draining), never about Redis: if a broker outage took every replica out of the load
 * balancer, the balancer itself would answer browsers with a fatal 502/503 (SPEC 9, 10).
 */
export type Phase = 'starting' | 'ready' | 'draining' | 'stopped';

export class Readiness {
  #phase: Phase = 'starting';

  get phase(): Phase {
    return this.#phase;
  }

  /** True from the first broker contact until draining starts (`/readyz`). */
  get isReady(): boolean {
    return this.#phase === 'ready';
  }

  markReady(): void {
    if (this.#phase === 'starting') this.#phase = 'ready';
  }

  markDraining(): void {
    if (this.#phase !== 'stopped') this.#phase = 'draining';
  }

  markStopped(): void {
    this.#phase = 'stopped';
  }
}
