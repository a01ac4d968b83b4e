// ABI enums and the small shared types of the host. Values follow proxy-wasm spec 0.2.x / cpp-host enums.

export const WasmResult = {
  Ok: 0,
  NotFound: 1,
  BadArgument: 2,
  SerializationFailure: 3,
  ParseFailure: 4,
  BadExpression: 5,
  InvalidMemoryAccess: 6,
  Empty: 7,
  CasMismatch: 8,
  ResultMismatch: 9,
  InternalFailure: 10,
  BrokenConnection: 11,
  Unimplemented: 12,
} as const;

export const WasiErrno = { SUCCESS: 0, BADF: 8, FAULT: 21, INVAL: 28, NOSYS: 52, NOTSUP: 58, NOENT: 44 } as const;

export const BufferType = {
  HttpRequestBody: 0,
  HttpResponseBody: 1,
  DownstreamData: 2,
  UpstreamData: 3,
  HttpCallResponseBody: 4,
  GrpcReceiveBuffer: 5,
  VmConfiguration: 6,
  PluginConfiguration: 7,
  CallData: 8,
} as const;
export const MAX_BUFFER_TYPE = 8;

export const MapType = {
  RequestHeaders: 0,
  RequestTrailers: 1,
  ResponseHeaders: 2,
  ResponseTrailers: 3,
  GrpcInitialMetadata: 4,
  GrpcTrailingMetadata: 5,
  HttpCallResponseHeaders: 6,
  HttpCallResponseTrailers: 7,
} as const;
export const MAX_MAP_TYPE = 7;

export const StreamType = { Request: 0, Response: 1, Downstream: 2, Upstream: 3 } as const;

export const HeadersStatus = {
  Continue: 0,
  StopIteration: 1,
  ContinueAndEndStream: 2,
  StopAllIterationAndBuffer: 3,
  StopAllIterationAndWatermark: 4,
} as const;
export const DataStatus = { Continue: 0, StopIterationAndBuffer: 1, StopIterationAndWatermark: 2, StopIterationNoBuffer: 3 } as const;
export const TrailersStatus = { Continue: 0, StopIteration: 1 } as const;

export type AbiVersion = "0.1.0" | "0.2.0" | "0.2.1";
export type FailurePolicy = "FAIL_CLOSED" | "FAIL_OPEN" | "FAIL_RELOAD";

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "critical"] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export interface LogEntry {
  level: LogLevelName;
  levelNum: number;
  message: string;
  /** Worker index, or -1 for the base VM and -2 for the canary VM. */
  worker: number;
  vm: "base" | "canary" | "worker";
  contextId: number;
  /** How the message reached the host: proxy_log, fd_write or the host itself (traps, proc_exit). */
  source: "proxy_log" | "fd_write" | "host";
}

/** Raised for load and start failures, with the logs collected so far (Envoy logs them too). */
export class HostError extends Error {
  constructor(
    public readonly code: string,
    message: string,
    public readonly logs: LogEntry[] = [],
  ) {
    super(`${code}: ${message}`);
    this.name = "HostError";
  }
}

/** Thrown from an import to abort the current wasm call, like a V8 trap raised by cpp-host. */
export class HostTrap extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HostTrap";
  }
}

export type Bytes = Uint8Array;
export type Pairs = Array<[string, string]>;
