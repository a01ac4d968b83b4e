// Compat shim for @solo-io/proxy-runtime 0.1.8, which imports `proc_exit` from AssemblyScript 0.14's
// bundled WASI bindings. Envoy registers WASI under both module names; we bind the preview1 one.
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "proc_exit")
export declare function proc_exit(code: u32): void;
