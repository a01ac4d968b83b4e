// A filter that does nothing, built with the same toolchain and runtime layer as the router: the baseline
// for the filter-cost benchmark and for host tests that need a well-behaved module.
export * from "../../assembly/runtime/exports";
import { HttpContext, RootContext, setRootContextFactory } from "../../assembly/runtime/context";

class NoopRoot extends RootContext {
  newHttpContext(id: u32): HttpContext | null {
    return new HttpContext(id, this);
  }
}

setRootContextFactory((id: u32): RootContext => new NoopRoot(id));
