// KV-cache use 0..1 from the fresh report.
import { Candidate } from "../candidate";
import { Scorer } from "../scorer";

export class KvCacheScorer extends Scorer {
  term(c: Candidate): f64 {
    return c.kv;
  }
}
