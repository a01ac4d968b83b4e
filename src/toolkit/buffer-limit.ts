// Envoy's per-connection buffer limit, as the toolkit knows it for what it generates. Envoy answers 413 when a
// filter buffers a request body past the stream's limit (the listener's per_connection_buffer_limit_bytes, 1 MiB by
// default; Envoy Gateway sets 32 KiB): envoyproxy/envoy source/common/http/filter_manager.cc@00e00299
// (ActiveStreamDecoderFilter::createBuffer / requestDataTooLarge). In body mode the toolkit sets the limit on the
// listeners of the selected workload (bounded) and tells the filter (plugin config body.bufferLimitBytes), which
// never holds more than that (assembly/router/intake.ts).
import { BUFFER_LIMIT_MAX } from "../config/plugin-config.js";
import type { RouterConfig } from "../config/router-config.js";

/** Envoy's default per_connection_buffer_limit_bytes. */
export const ENVOY_DEFAULT_BUFFER_LIMIT = 1_048_576;

/** The listener buffer limit the generated config runs with: room for body.maxBytes, never below Envoy's default. */
export function bufferLimitFor(cfg: RouterConfig): number {
  return Math.min(BUFFER_LIMIT_MAX, Math.max(ENVOY_DEFAULT_BUFFER_LIMIT, cfg.body.maxBytes));
}

/**
 * EnvoyFilter patches that set that limit on the workload's listeners in the filter's context (body mode only:
 * without it the filter never holds a body). A MERGE on LISTENER touches only this field.
 */
export function bufferLimitPatches(cfg: RouterConfig, ports: number[] = []): Record<string, unknown>[] {
  if (!cfg.body.enabled) return [];
  // Only the listeners the filter runs on (the service ports in sidecars; every listener of a gateway).
  const listeners = ports.length > 0 ? ports.map((p) => ({ listener: { portNumber: p } })) : [{}];
  return listeners.map((l) => ({
    applyTo: "LISTENER",
    match: { context: cfg.workload.context, ...l },
    patch: { operation: "MERGE", value: { per_connection_buffer_limit_bytes: bufferLimitFor(cfg) } },
  }));
}
