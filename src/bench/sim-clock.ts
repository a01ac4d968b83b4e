// A virtual clock for the discrete-event benchmark: like the host's VirtualClock (nothing moves until told), but it
// tells the event loop when its next timer is due, so the loop can interleave filter ticks with arrivals, model
// events and metrics responses in exact time order. One SimClock is shared by every simulated sidecar.
import type { Clock, TimerHandle } from "../host/index.js";

/** Virtual epoch of every simulation run (models count ms from here). */
export const START_MS = 1_750_000_000_000;

interface T {
  due: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

export class SimClock implements Clock {
  private now: number;
  private readonly start: number;
  private heap: T[] = [];
  private seq = 0;

  constructor(startMs: number) {
    this.now = startMs;
    this.start = startMs;
  }

  nowMs(): number {
    return this.now;
  }
  monotonicNs(): bigint {
    return BigInt(Math.round((this.now - this.start) * 1e6));
  }
  set(ms: number): void {
    if (ms > this.now) this.now = ms;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const t: T = { due: this.now + Math.max(0, delayMs), seq: this.seq++, fn, live: true };
    this.push(t);
    return {
      cancel: () => {
        t.live = false;
      },
    };
  }

  /** Due time of the next live timer (Infinity when none). */
  nextDue(): number {
    while (this.heap.length && !this.heap[0]!.live) this.pop();
    return this.heap.length ? this.heap[0]!.due : Infinity;
  }

  /** Fires every timer due at or before `ms` in (due, creation) order, moving the clock to each due time. */
  runUntil(ms: number): void {
    for (;;) {
      const d = this.nextDue();
      if (d > ms) break;
      const t = this.pop()!;
      t.live = false;
      this.set(t.due);
      t.fn();
    }
    this.set(ms);
  }

  private less(a: T, b: T): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }
  private push(t: T): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  private pop(): T | undefined {
    const h = this.heap;
    if (!h.length) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
