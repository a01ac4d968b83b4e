// Public entry of the proxy-wasm host. See README.md in this folder.
export { createProxy, Proxy, Worker, LogBook } from "./proxy.js";
export type { ProxyOptions, RequestSpec, ResponseSpec, RequestResult } from "./proxy.js";
export { HttpStream } from "./stream.js";
export type { LocalReply } from "./stream.js";
export { VirtualClock, RealClock } from "./clock.js";
export type { Clock, TimerHandle } from "./clock.js";
export { HeaderMap } from "./headers.js";
export { SharedDataStore } from "./shared-data.js";
export { MetricStore, DEFAULT_BUCKETS } from "./metrics.js";
export { PendingCallout } from "./callouts.js";
export type { CalloutRequest, CalloutResponse, CalloutTransport } from "./callouts.js";
export { serializePairs, parsePairs, PAIRS_MAX_COUNT, PAIRS_MAX_BYTES } from "./pairs.js";
export { encodeValue, DEFAULT_PROPERTIES } from "./properties.js";
export type { PropertyValue, PropertySource } from "./properties.js";
export { HostError, WasmResult, BufferType, MapType, StreamType, HeadersStatus, DataStatus } from "./types.js";
export type { LogEntry, LogLevelName, FailurePolicy, AbiVersion } from "./types.js";
export { PluginHandle, pluginKey } from "./plugin.js";
