// The chooser: keeps the best few acceptable candidates of a level as they are offered — the least score
// first, equal least scores broken uniformly at random (reservoir sampling over the ties) — and the runners-up
// (endpoint mode lists them after the pick, for Envoy's retries). Fixed storage: nothing allocated per request.
import { randomBelow } from "../rng";

export const MAX_ALTERNATES: i32 = 2;
export const EPS: f64 = 1e-9;

export class Chooser {
  idx: StaticArray<i32> = new StaticArray<i32>(MAX_ALTERNATES + 1);
  score: StaticArray<f64> = new StaticArray<f64>(MAX_ALTERNATES + 1);
  count: i32 = 0;
  private ties: i32 = 0;

  reset(): void {
    this.count = 0;
    this.ties = 0;
  }

  /** Offers candidate `u` with `score`. */
  offer(u: i32, score: f64): void {
    if (this.count > 0) {
      for (let i = 0; i < this.count; i++) if (this.idx[i] == u) return; // sampled twice
      const b = this.score[0];
      if (score < b + EPS && score > b - EPS) {
        // Reservoir sampling over ties for first place.
        this.ties++;
        if (randomBelow(<u32>(this.ties + 1)) == 0) {
          this.insertAt(0, u, score);
        } else {
          this.insertAt(min(1, this.count), u, score);
        }
        return;
      }
    } else {
      this.ties = 0;
    }
    let pos = this.count;
    while (pos > 0 && score < this.score[pos - 1] - EPS) pos--;
    if (pos == 0 && this.count > 0) this.ties = 0;
    this.insertAt(pos, u, score);
  }

  /** Moves `u` (score `score`) to the front, keeping the others as alternates (a preference won). */
  promote(u: i32, score: f64): void {
    let at = -1;
    for (let i = 0; i < this.count; i++) if (this.idx[i] == u) { at = i; break; }
    if (at < 0) {
      at = this.count < MAX_ALTERNATES + 1 ? this.count++ : this.count - 1;
    }
    for (let i = at; i > 0; i--) {
      this.idx[i] = this.idx[i - 1];
      this.score[i] = this.score[i - 1];
    }
    this.idx[0] = u;
    this.score[0] = score;
  }

  private insertAt(pos: i32, u: i32, score: f64): void {
    const cap = MAX_ALTERNATES + 1;
    if (pos >= cap) return;
    let last = this.count < cap ? this.count : cap - 1;
    for (let i = last; i > pos; i--) {
      this.idx[i] = this.idx[i - 1];
      this.score[i] = this.score[i - 1];
    }
    this.idx[pos] = u;
    this.score[pos] = score;
    if (this.count < cap) this.count++;
  }
}
