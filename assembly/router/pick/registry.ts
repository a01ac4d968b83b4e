// The scorers in use, each weighted by its `scoring.<name>` setting. A new scorer is one file in scorers/ and
// one line here (plus its weight in src/config/plugin-config.ts, then `npm run gen:config`).
import { ScoringConfig } from "../config";
import { Candidate } from "./candidate";
import { Scorer } from "./scorer";
import { InFlightScorer } from "./scorers/in-flight";
import { QueueScorer } from "./scorers/queue";
import { KvCacheScorer } from "./scorers/kv-cache";

export function scorers(s: ScoringConfig): Array<Scorer> {
  const out = new Array<Scorer>();
  out.push(new InFlightScorer(s.inFlight));
  out.push(new QueueScorer(s.queue));
  out.push(new KvCacheScorer(s.kvCache));
  return out;
}

/** The load score of `c` (lower is better): 1 / capacity for the request being placed, plus the weighted terms. */
export function score(c: Candidate, list: Array<Scorer>): f64 {
  let s = 1 / c.capacity;
  for (let i = 0; i < list.length; i++) {
    const sc = unchecked(list[i]);
    if (sc.weight != 0) s += sc.weight * sc.term(c);
  }
  return s;
}
