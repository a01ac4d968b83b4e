// Waiting requests per unit of capacity: the fresh reported queue plus the requests sent since that report.
import { Candidate } from "../candidate";
import { Scorer } from "../scorer";

export class QueueScorer extends Scorer {
  term(c: Candidate): f64 {
    return c.queue / c.capacity;
  }
}
