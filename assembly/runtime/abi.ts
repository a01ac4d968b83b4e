// The proxy-wasm ABI 0.2.1 as Envoy registers it. Most declarations come from @solo-io/proxy-runtime 0.1.8's
// `imports` module (correct for those calls); the few it lacks or gets wrong are declared here. Only what is
// reachable from the entry becomes an import, so `proxy_clear_route_cache` (0.1.0 only; Envoy would refuse to
// load the module) is never imported because nothing here calls it.
export {
  proxy_log, proxy_get_status, proxy_set_tick_period_milliseconds, proxy_get_current_time_nanoseconds,
  proxy_get_property, proxy_set_property, proxy_continue_stream, proxy_close_stream, proxy_send_local_response,
  proxy_get_shared_data, proxy_set_shared_data, proxy_register_shared_queue, proxy_resolve_shared_queue,
  proxy_dequeue_shared_queue, proxy_enqueue_shared_queue, proxy_add_header_map_value, proxy_get_header_map_value,
  proxy_get_header_map_pairs, proxy_set_header_map_pairs, proxy_replace_header_map_value,
  proxy_remove_header_map_value, proxy_get_header_map_size, proxy_get_buffer_bytes, proxy_get_buffer_status,
  proxy_http_call, proxy_define_metric, proxy_increment_metric, proxy_record_metric, proxy_get_metric,
  proxy_set_effective_context, proxy_done, proxy_call_foreign_function,
} from "@solo-io/proxy-runtime/assembly/imports";

// 0.2.1 only: lets the filter skip building debug strings when Envoy would drop them.
// @ts-ignore: decorator
@external("env", "proxy_get_log_level")
export declare function proxy_get_log_level(ret_level_ptr: usize): u32;

// The SDK binds this name to `proxy_get_buffer_status` by mistake (host-behaviour §5.3.4); declare it properly.
// @ts-ignore: decorator
@external("env", "proxy_set_buffer_bytes")
export declare function proxy_set_buffer_bytes(type: u32, start: u32, length: u32, data_ptr: usize, data_size: usize): u32;

export namespace WasmResult {
  export const Ok: u32 = 0;
  export const NotFound: u32 = 1;
  export const BadArgument: u32 = 2;
  export const SerializationFailure: u32 = 3;
  export const ParseFailure: u32 = 4;
  export const InvalidMemoryAccess: u32 = 6;
  export const Empty: u32 = 7;
  export const CasMismatch: u32 = 8;
  export const InternalFailure: u32 = 10;
  export const BrokenConnection: u32 = 11;
  export const Unimplemented: u32 = 12;
}

export namespace LogLevel {
  export const Trace: u32 = 0;
  export const Debug: u32 = 1;
  export const Info: u32 = 2;
  export const Warn: u32 = 3;
  export const Error: u32 = 4;
  export const Critical: u32 = 5;
}

export namespace BufferType {
  export const HttpRequestBody: u32 = 0;
  export const HttpResponseBody: u32 = 1;
  export const HttpCallResponseBody: u32 = 4;
  export const VmConfiguration: u32 = 6;
  export const PluginConfiguration: u32 = 7;
}

export namespace MapType {
  export const RequestHeaders: u32 = 0;
  export const RequestTrailers: u32 = 1;
  export const ResponseHeaders: u32 = 2;
  export const ResponseTrailers: u32 = 3;
  export const HttpCallResponseHeaders: u32 = 6;
  export const HttpCallResponseTrailers: u32 = 7;
}

export namespace StreamType {
  export const Request: u32 = 0;
  export const Response: u32 = 1;
}

export namespace MetricType {
  export const Counter: u32 = 0;
  export const Gauge: u32 = 1;
  export const Histogram: u32 = 2;
}

export namespace HeadersStatus {
  export const Continue: i32 = 0;
  export const StopIteration: i32 = 1;
  export const StopAllIterationAndBuffer: i32 = 3;
  export const StopAllIterationAndWatermark: i32 = 4;
}

export namespace DataStatus {
  export const Continue: i32 = 0;
  export const StopIterationAndBuffer: i32 = 1;
  export const StopIterationAndWatermark: i32 = 2;
  export const StopIterationNoBuffer: i32 = 3;
}

export namespace TrailersStatus {
  export const Continue: i32 = 0;
  export const StopIteration: i32 = 1;
}
