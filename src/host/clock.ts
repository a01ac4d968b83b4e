// Injectable time. Ticks, callout timeouts and FAIL_RELOAD backoff are timers on this clock, and
// proxy_get_current_time_nanoseconds / WASI clock_time_get read it, so tests control time completely.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch. */
  nowMs(): number;
  /** Monotonic nanoseconds. */
  monotonicNs(): bigint;
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

export function realtimeNs(clock: Clock): bigint {
  return BigInt(Math.round(clock.nowMs() * 1000)) * 1000n;
}

interface VTimer {
  due: number;
  seq: number;
  fn: () => void;
  live: boolean;
}

/** Deterministic clock: nothing happens until advance(); due timers fire in (time, creation) order. */
export class VirtualClock implements Clock {
  private now: number;
  private readonly start: number;
  private timers: VTimer[] = [];
  private seq = 0;

  constructor(startMs = Date.UTC(2025, 0, 1)) {
    this.now = startMs;
    this.start = startMs;
  }

  nowMs(): number {
    return this.now;
  }
  monotonicNs(): bigint {
    return BigInt(Math.round((this.now - this.start) * 1e6));
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const t: VTimer = { due: this.now + Math.max(0, delayMs), seq: this.seq++, fn, live: true };
    this.timers.push(t);
    return {
      cancel: () => {
        t.live = false;
      },
    };
  }

  /** Moves time forward by ms, firing every timer that comes due (including ones armed by earlier timers). */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => t.live);
      let next: VTimer | undefined;
      for (const t of this.timers) if (t.due <= target && (!next || t.due < next.due || (t.due === next.due && t.seq < next.seq))) next = t;
      if (!next) break;
      next.live = false;
      this.now = Math.max(this.now, next.due);
      next.fn();
    }
    this.now = target;
  }

  /** Number of armed timers (useful to assert that a tick was disabled). */
  get pendingTimers(): number {
    return this.timers.filter((t) => t.live).length;
  }
}

/** Wall-clock time with setTimeout; timers are unref'd so a forgotten proxy does not keep Node alive. */
export class RealClock implements Clock {
  private readonly origin = process.hrtime.bigint();
  nowMs(): number {
    return Date.now();
  }
  monotonicNs(): bigint {
    return process.hrtime.bigint() - this.origin;
  }
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const h = setTimeout(fn, Math.max(0, delayMs));
    h.unref?.();
    return { cancel: () => clearTimeout(h) };
  }
}
