// Seeded randomness for the benchmark: every run with the same seed makes the same workload and the same picks.
import { mulberry32 } from "../sim/prng.js";

/** The workload generator's PRNG (mulberry32, shared with the simulator). */
export const rng = mulberry32;

export function expSample(r: () => number, mean: number): number {
  return -Math.log(1 - r()) * mean;
}

/** Log-normal with the given mean and sigma of the underlying normal. */
export function lognormal(r: () => number, mean: number, sigma: number): number {
  const u1 = Math.max(1e-12, r()),
    u2 = r();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  const mu = Math.log(mean) - (sigma * sigma) / 2;
  return Math.exp(mu + sigma * z);
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}
