// A filter written the way @solo-io/proxy-runtime 0.1.8's README shows, built on AS 0.28 through the compat
// shims in assembly/compat. Tests run it to show the SDK's own runtime defects under our Envoy-faithful host.
export * from "@solo-io/proxy-runtime/assembly/proxy";
// The project-wide abort handler (asconfig `use abort=routerAbort`) must be compiled in.
import "../../assembly/runtime/abort";
import { RootContext, Context, registerRootContext, FilterHeadersStatusValues, stream_context } from "@solo-io/proxy-runtime/assembly/index";

class HelloRoot extends RootContext {
  createContext(context_id: u32): Context {
    return new HelloHttp(context_id, this);
  }
}

class HelloHttp extends Context {
  constructor(context_id: u32, root: RootContext) {
    super(context_id, root);
  }
  onRequestHeaders(a: u32, end_of_stream: bool): FilterHeadersStatusValues {
    stream_context.headers.request.add("x-sdk-hello", "1");
    return FilterHeadersStatusValues.Continue;
  }
}

registerRootContext((context_id: u32) => { return new HelloRoot(context_id); }, "sdk-hello");
