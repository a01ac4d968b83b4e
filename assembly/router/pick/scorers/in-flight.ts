// In-flight requests per unit of capacity: this proxy's count (or the server's fresh running count when larger).
import { Candidate } from "../candidate";
import { Scorer } from "../scorer";

export class InFlightScorer extends Scorer {
  term(c: Candidate): f64 {
    return c.inFlight / c.capacity;
  }
}
