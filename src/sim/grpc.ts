// The KServe v2 gRPC service (inference.GRPCInferenceService, proto/kserve/grpc_predict_v2.proto) on the
// simulator's HTTP/2 connections, for the triton and kserve engines. gRPC over HTTP/2 as the spec has it
// (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md): POST /<package>.<Service>/<Method>,
// content-type application/grpc, messages framed as 1 byte compressed-flag + 4 bytes big-endian length +
// protobuf; the status in trailers (grpc-status, grpc-message percent-encoded), or "trailers-only" (one HEADERS
// frame with :status 200 and grpc-status) when the call fails before any message.
//
// LLM models (Triton's TensorRT-LLM ensemble convention): input "text_input" (BYTES), optional "max_tokens"
// (INT32) and "stream" (BOOL); output "text_output" (BYTES). ModelStreamInfer with stream=true answers one
// ModelStreamInferResponse per generated token, otherwise one per request; its errors travel inside the stream
// (error_message) as Triton does, and the call ends OK once the client half-closed and every request answered.
// Other models get a prefill-only job and an FP32 output "output-0". Raw contents are used for outputs (as Triton
// does); inputs are read from `contents` or `raw_input_contents`.
import type http2 from "node:http2";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { estimateTokens, hashText, type Job, type Simulator } from "./server.js";
import { v2Metadata } from "./routes.js";

const SERVICE = "/inference.GRPCInferenceService/";
/** Same as grpc-js's default receive limit. */
const MAX_MESSAGE = 4 * 1024 * 1024;

export const Status = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

export const PROTO_PATH = fileURLToPath(new URL("../../proto/kserve/grpc_predict_v2.proto", import.meta.url));

let root: protobuf.Root | undefined;
function types(): protobuf.Root {
  root ??= protobuf.loadSync(PROTO_PATH);
  return root;
}
const T = (name: string) => types().lookupType(`inference.${name}`);

/** gRPC's percent-encoding of grpc-message: bytes outside printable ASCII, and '%', as %XX. */
export function grpcMessage(text: string): string {
  let out = "";
  for (const b of Buffer.from(text, "utf8"))
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  return out;
}

export function frame(bytes: Uint8Array): Buffer {
  const b = Buffer.alloc(5 + bytes.length);
  b.writeUInt8(0, 0);
  b.writeUInt32BE(bytes.length, 1);
  b.set(bytes, 5);
  return b;
}

/** Splits a byte stream into gRPC messages. */
export class Deframer {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Array<{ compressed: boolean; data: Buffer } | { error: string; status: number }> {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Array<{ compressed: boolean; data: Buffer } | { error: string; status: number }> = [];
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt32BE(1);
      if (len > MAX_MESSAGE) {
        out.push({ status: Status.RESOURCE_EXHAUSTED, error: `message of ${len} bytes exceeds ${MAX_MESSAGE}` });
        this.buf = Buffer.alloc(0);
        break;
      }
      if (this.buf.length < 5 + len) break;
      out.push({ compressed: this.buf[0] !== 0, data: this.buf.subarray(5, 5 + len) });
      this.buf = this.buf.subarray(5 + len);
    }
    return out;
  }
  get pending(): number {
    return this.buf.length;
  }
}

interface Tensor {
  name?: string;
  datatype?: string;
  shape?: number[];
  contents?: Record<string, unknown[]>;
  parameters?: Record<string, Param>;
}
interface Param {
  boolParam?: boolean;
  int64Param?: number;
  stringParam?: string;
}
interface InferRequest {
  modelName?: string;
  modelVersion?: string;
  id?: string;
  parameters?: Record<string, Param>;
  inputs?: Tensor[];
  rawInputContents?: Uint8Array[];
}

class GrpcError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** BYTES tensor elements from raw contents: each a 4-byte little-endian length then the bytes. */
function rawBytesElements(raw: Uint8Array): Buffer[] {
  const b = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: Buffer[] = [];
  for (let i = 0; i + 4 <= b.length;) {
    const n = b.readUInt32LE(i);
    if (i + 4 + n > b.length) throw new GrpcError(Status.INVALID_ARGUMENT, "raw BYTES input is truncated");
    out.push(b.subarray(i + 4, i + 4 + n));
    i += 4 + n;
  }
  return out;
}

function rawBytes(values: string[]): Buffer {
  return Buffer.concat(
    values.flatMap((v) => {
      const s = Buffer.from(v, "utf8");
      const l = Buffer.alloc(4);
      l.writeUInt32LE(s.length);
      return [l, s];
    }),
  );
}

export class GrpcService {
  constructor(private readonly sim: Simulator) {}

  matches(h: http2.IncomingHttpHeaders): boolean {
    return (h["content-type"] ?? "").toLowerCase().startsWith("application/grpc");
  }

  private served(): boolean {
    return this.sim.engine === "triton" || this.sim.engine === "kserve";
  }

  handle(stream: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders): void {
    stream.on("error", () => undefined);
    const path = String(h[":path"] ?? "");
    const method = path.startsWith(SERVICE) ? path.slice(SERVICE.length) : "";
    const meta = { "x-simulator": this.sim.name };
    let headed = false;
    let ended = false;
    const head = () => {
      if (!headed && !stream.destroyed) {
        headed = true;
        stream.respond({ ":status": 200, "content-type": "application/grpc", ...meta }, { waitForTrailers: true });
      }
    };
    const finish = (status: number, message = "") => {
      if (ended || stream.destroyed) return;
      ended = true;
      const trailers = { "grpc-status": String(status), ...(message ? { "grpc-message": grpcMessage(message) } : {}) };
      if (!headed) {
        headed = true;
        stream.respond({ ":status": 200, "content-type": "application/grpc", ...meta, ...trailers }, { endStream: true });
        return;
      } // trailers-only
      stream.once("wantTrailers", () => stream.sendTrailers(trailers));
      stream.end();
    };
    const send = (type: string, value: Record<string, unknown>) => {
      if (ended || stream.destroyed) return;
      head();
      const t = T(type);
      stream.write(frame(t.encode(t.fromObject(value)).finish()));
    };
    if (this.sim.dead) {
      stream.session?.destroy();
      return;
    }
    if (method === "" || h[":method"] !== "POST") {
      finish(Status.UNIMPLEMENTED, `unknown service or method ${path}`);
      return;
    }
    if (!this.served()) {
      finish(Status.UNIMPLEMENTED, `${this.sim.engine} servers have no gRPC inference service`);
      return;
    }
    const unary = ["ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer", "RepositoryIndex"];
    if (method !== "ModelStreamInfer" && !unary.includes(method)) {
      finish(Status.UNIMPLEMENTED, `Method not implemented: ${method}`);
      return;
    }

    const deframer = new Deframer();
    const messages: Buffer[] = [];
    let outstanding = 0;
    let halfClosed = false;
    const maybeDone = () => {
      if (method === "ModelStreamInfer" && halfClosed && outstanding === 0) finish(Status.OK);
    };
    const onMessage = (data: Buffer) => {
      if (method !== "ModelStreamInfer") {
        messages.push(data);
        return;
      }
      let req: InferRequest;
      try {
        req = this.decodeInfer(data);
      } catch (e) {
        send("ModelStreamInferResponse", { errorMessage: (e as Error).message });
        return;
      }
      outstanding++;
      this.infer(
        req,
        true,
        (r) => send("ModelStreamInferResponse", { inferResponse: r }),
        (err) => send("ModelStreamInferResponse", { errorMessage: err.message }),
        () => {
          outstanding--;
          maybeDone();
        },
        () => !ended && !stream.destroyed,
      );
    };
    stream.on("data", (chunk: Buffer) => {
      for (const m of deframer.push(chunk)) {
        if ("error" in m) {
          finish(m.status, m.error);
          return;
        }
        if (m.compressed) {
          finish(Status.UNIMPLEMENTED, "compressed messages are not supported (grpc-encoding identity only)");
          return;
        }
        onMessage(m.data);
      }
    });
    stream.on("end", () => {
      halfClosed = true;
      if (ended) return;
      if (deframer.pending) {
        finish(Status.INTERNAL, "incomplete message at end of stream");
        return;
      }
      if (method === "ModelStreamInfer") {
        maybeDone();
        return;
      }
      if (messages.length !== 1) {
        finish(Status.INTERNAL, `expected one request message, got ${messages.length}`);
        return;
      }
      try {
        this.unary(method, messages[0]!, send, finish, () => !ended && !stream.destroyed);
      } catch (e) {
        if (e instanceof GrpcError) finish(e.status, e.message);
        else finish(Status.INTERNAL, (e as Error).message);
      }
    });
  }

  private decode<X>(type: string, data: Buffer): X {
    const t = T(type);
    try {
      return t.toObject(t.decode(data), { longs: Number, defaults: false, arrays: true }) as X;
    } catch (e) {
      throw new GrpcError(Status.INTERNAL, `cannot parse ${type}: ${(e as Error).message}`);
    }
  }

  private decodeInfer(data: Buffer): InferRequest {
    return this.decode<InferRequest>("ModelInferRequest", data);
  }

  private unary(
    method: string,
    data: Buffer,
    send: (t: string, v: Record<string, unknown>) => void,
    finish: (s: number, m?: string) => void,
    alive: () => boolean,
  ): void {
    const sim = this.sim;
    const reply = (type: string, v: Record<string, unknown>) => {
      send(type, v);
      finish(Status.OK);
    };
    switch (method) {
      case "ServerLive":
        return reply("ServerLiveResponse", { live: true });
      case "ServerReady":
        return reply("ServerReadyResponse", { ready: !sim.dead });
      case "ServerMetadata":
        return reply("ServerMetadataResponse", {
          name: sim.engine === "triton" ? "triton" : "kserve",
          version: "2.50.0",
          extensions: ["model_repository", "generate"],
        });
      case "ModelReady": {
        const r = this.decode<{ name?: string; version?: string }>("ModelReadyRequest", data);
        return reply("ModelReadyResponse", { ready: sim.models.includes(r.name ?? "") && (!r.version || r.version === "1") });
      }
      case "ModelMetadata": {
        const r = this.decode<{ name?: string; version?: string }>("ModelMetadataRequest", data);
        const name = this.known(r.name, r.version);
        return reply("ModelMetadataResponse", v2Metadata(sim.engine, name));
      }
      case "RepositoryIndex": {
        this.decode("RepositoryIndexRequest", data);
        return reply("RepositoryIndexResponse", { models: sim.models.map((name) => ({ name, version: "1", state: "READY", reason: "" })) });
      }
      case "ModelInfer": {
        const req = this.decodeInfer(data);
        this.infer(
          req,
          false,
          (r) => send("ModelInferResponse", r),
          (e) => finish(e.status, e.message),
          () => finish(Status.OK),
          alive,
        );
        return;
      }
    }
  }

  private known(name: string | undefined, version: string | undefined): string {
    if (!name || !this.sim.models.includes(name))
      throw new GrpcError(Status.NOT_FOUND, `Request for unknown model: '${name ?? ""}' is not found`);
    if (version && version !== "1")
      throw new GrpcError(Status.NOT_FOUND, `Request for unknown model: '${name}' version ${version} is not found`);
    return name;
  }

  /** One inference: `out` per response (one, or one per token when streaming), then `done`; `fail` instead on error. */
  private infer(
    req: InferRequest,
    streamCall: boolean,
    out: (r: Record<string, unknown>) => void,
    fail: (e: GrpcError) => void,
    done: () => void,
    alive: () => boolean,
  ): void {
    let name: string;
    try {
      name = this.known(req.modelName, req.modelVersion);
    } catch (e) {
      fail(e as GrpcError);
      done();
      return;
    }
    const inputs = req.inputs ?? [];
    const raw = req.rawInputContents ?? [];
    if (raw.length > 0 && raw.length !== inputs.length) {
      fail(new GrpcError(Status.INVALID_ARGUMENT, `expected ${inputs.length} raw_input_contents, got ${raw.length}`));
      done();
      return;
    }
    const at = (n: string) => inputs.findIndex((t) => t.name === n);
    let text: string | undefined;
    let maxTokens = this.sim.defaultMaxTokens;
    let wantStream = false;
    try {
      const ti = at("text_input");
      if (ti >= 0) {
        const el = raw.length ? rawBytesElements(raw[ti]!)[0] : (inputs[ti]!.contents?.bytesContents?.[0] as Uint8Array | undefined);
        text = el ? Buffer.from(el).toString("utf8") : "";
      }
      const mi = at("max_tokens");
      if (mi >= 0) {
        const v = raw.length
          ? raw[mi]!.byteLength >= 4
            ? Buffer.from(raw[mi]!).readInt32LE(0)
            : undefined
          : Number(inputs[mi]!.contents?.intContents?.[0]);
        if (v !== undefined && Number.isFinite(v) && v >= 0) maxTokens = Math.min(4096, v);
      } else if (req.parameters?.max_tokens?.int64Param !== undefined)
        maxTokens = Math.min(4096, Math.max(0, Number(req.parameters.max_tokens.int64Param)));
      const si = at("stream");
      if (si >= 0)
        wantStream = raw.length ? raw[si]!.byteLength > 0 && raw[si]![0] !== 0 : inputs[si]!.contents?.boolContents?.[0] === true;
    } catch (e) {
      fail(e instanceof GrpcError ? e : new GrpcError(Status.INVALID_ARGUMENT, (e as Error).message));
      done();
      return;
    }
    const base = { modelName: name, modelVersion: "1", ...(req.id ? { id: req.id } : {}) };
    const textOut = (s: string) => ({
      ...base,
      outputs: [{ name: "text_output", datatype: "BYTES", shape: [1] }],
      rawOutputContents: [rawBytes([s])],
    });
    const job: Job =
      text !== undefined
        ? {
            model: name,
            promptTokens: estimateTokens(text),
            maxTokens,
            prefixId: `grpc:${hashText(text)}`,
            prefixTokens: estimateTokens(text),
          }
        : { model: name, promptTokens: Math.max(16, raw.reduce((n, r) => n + r.byteLength, 0) / 4), maxTokens: 0 };
    const stream = streamCall && wantStream && text !== undefined;
    this.sim.execute(job, {
      stream,
      ...(stream ? { token: (t: string) => out(textOut(t)) } : {}),
      done: (full) => {
        if (!stream) {
          if (text !== undefined) out(textOut(full));
          else
            out({
              ...base,
              outputs: [{ name: "output-0", datatype: "FP32", shape: [1, 4] }],
              rawOutputContents: [Buffer.from(new Float32Array([0.1, 0.2, 0.3, 0.4]).buffer)],
            });
        }
        done();
      },
      fail: (e) => {
        fail(
          new GrpcError(
            e.reason === "prompt_too_long" ? Status.INVALID_ARGUMENT : e.reason === "server_dead" ? Status.UNAVAILABLE : Status.INTERNAL,
            e.reason === "prompt_too_long" ? "prompt exceeds the model's context length" : `inference failed: ${e.reason}`,
          ),
        );
        done();
      },
      alive,
    });
  }
}
