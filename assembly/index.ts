// inference-router: the Wasm module Envoy loads. The runtime layer (./runtime) provides the proxy-wasm
// exports and context table; the router (./router) is the filter. Top-level code runs in `_initialize`, where
// Envoy allows almost no host calls: only register the root context factory here.
export * from "./runtime/exports";
import { RootContext, setRootContextFactory } from "./runtime/context";
import { RouterRoot } from "./router/filter";

setRootContextFactory((id: u32): RootContext => new RouterRoot(id));
