// A scorer: one weighted term of a candidate's load score (lower is better). The score is the sum of every
// registered scorer's weight × term, plus 1 / capacity for the request being placed (so between idle upstreams
// the faster one wins). Terms of requests are per unit of capacity; utilisations are 0..1. Adding one: a file in
// scorers/, a line in registry.ts, a weight in the schema's `scoring` object (docs/architecture.md).
import { Candidate } from "./candidate";

export abstract class Scorer {
  constructor(public weight: f64) {}

  /** This scorer's term for `c` (unweighted). */
  abstract term(c: Candidate): f64;
}
