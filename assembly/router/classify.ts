// Request classification: which inference protocol a request speaks, which model (and version) it targets,
// whether it streams, and how big it is likely to be. Plain data in, plain data out: no host calls, so the
// filter calls it on every request and tests drive it directly.
//
// Cost model: paths are matched in place on the UTF-16 string (no substrings, no splits); bodies are
// scanned by assembly/router/scan.ts over raw memory. The only allocations are the final model / version
// strings (and a decimal version for TF Serving gRPC). One Classification is reused per stream via reset().
//
// ---------------------------------------------------------------------------------------------------------
// Rules (the contract the filter and the tests rely on)
// ---------------------------------------------------------------------------------------------------------
// Paths
//  - Matching uses the path up to the first '?' or '#'. It is exact and case-sensitive: no normalisation,
//    no merged slashes, no trailing-slash tolerance (servers answer those with redirects/404s; run Envoy
//    with normalize_path so odd spellings are normalised before the filter). A path that is not
//    origin-form ("/...") or has more than 8 segments matches nothing.
//  - Only POST can be inference, except TorchServe's /predictions and /explanations (any method: TorchServe
//    ignores it) and SGLang's PUT /generate. Any other method, and any path that matches no inference shape
//    (health, readiness, metadata, model lists, metrics, management, tokenizer, unknown), gives inference=false,
//    protocol Unknown, and the filter passes the request through untouched.
//  - Every body-model OpenAI route is also served under /openai/v1/ (KServe, Azure OpenAI v1).
//  - Names and versions taken from path segments are percent-decoded. An invalid escape ("%zz", a trailing
//    "%") is kept literally, as Python's urllib.parse.unquote (used by the Python model servers) does;
//    "+" stays "+". The decoded value must be 1..256 bytes (versions 1..64), valid UTF-8, with no
//    control bytes, and — split on '/' — contain no "", "." or ".." piece (so "%2E%2E", "a%2F..%2Fb",
//    "%2Fabs" are refused). A refused or empty name still leaves the request classified as inference for
//    its shape, with model "" and FLAG_MODEL_REJECTED: the filter then applies its unknown-model policy
//    instead of letting a crafted name skip routing.
//  - POST /generate is shared by TGI, SGLang and vLLM's legacy server. Headers alone say tgi-generate.
//    The body then decides, by top-level keys: any of sampling_params / text / input_ids / input_embeds
//    → sglang-generate; else inputs → tgi-generate; else prompt → vllm-generate; else it stays tgi-generate.
//    TGI's POST / (CompatGenerateRequest) is always tgi-generate; its `stream` key decides streaming.
//  - /v1/models/{m}:predict|:explain → kserve-v1 (TF Serving compatible); :classify → tfserving-classify,
//    :regress → tfserving-regress. With /versions/{v} or /labels/{l}, :predict|:classify|:regress →
//    tfserving-* with that version/label (:explain has no versioned form → not inference). The verb is
//    split at the LAST ':' of the segment, so "llama3:8b:predict" is model "llama3:8b".
//  - gRPC needs content-type application/grpc* (any suffix, case-insensitive); without it the gRPC paths
//    are not inference. ModelStreamInfer is streaming.
// Bodies (classifyBody)
//  - JSON (OpenAI, Anthropic, vLLM, TGI, SGLang, OIP generate): see scanJson in scan.ts. The LAST top-level
//    "model" wins, as in the Python servers (json: last key wins) and Go's encoding/json; a second one also
//    sets FLAG_DUPLICATE_MODEL (serde-based servers refuse the request). A complete body with anything but
//    whitespace after the top-level object (FLAG_BODY_TRAILING), or a malformed one, names no model: the
//    server refuses it, and a partial parse never chooses a route.
//  - multipart/form-data (OpenAI audio): scanMultipart in scan.ts; `model` and `stream` form fields, last wins.
//  - "stream": true turns streaming on for every JSON protocol except embeddings; "stream": false never
//    turns off a streaming endpoint.
//  - gRPC: see scanModelInfer / scanTfServing in scan.ts (protobuf semantics: last model_name wins); TorchServe's
//    PredictionsRequest has the same field numbers as ModelInferRequest. TF Serving's version_label is a label.
//  - classifyBody is idempotent: every call recomputes the body-derived fields from the header result, so
//    the filter may call it again with a longer prefix. It never changes needsBody (a header-phase answer),
//    and it sets model/version only while needsBody is true: a caller that settled the model itself (an
//    override header) clears needsBody and keeps its model, while stream/maxTokens are still read.
//  - KServe v1, OIP infer and TorchServe bodies are not read (the model is in the path).

import {
  MODEL_BUF, VERSION_BUF, MODEL_CAP, VERSION_CAP, SCAN_OK, SCAN_TRUNCATED, SCAN_TOO_DEEP, SCAN_MALFORMED,
  SCAN_COMPRESSED, KEY_SAMPLING_PARAMS, KEY_TEXT, KEY_INPUT_IDS, KEY_INPUT_EMBEDS, KEY_INPUTS, KEY_PROMPT,
  jsonFacts, pbFacts, formFacts, scanJson, scanModelInfer, scanTfServing, scanMultipart, validName, hexValue, putUtf8At,
} from "./scan";

export enum Protocol {
  Unknown, OpenAIChat, OpenAICompletions, OpenAIEmbeddings, OpenAIResponses, VllmGenerate, KServeV1, OipInfer,
  OipGenerate, OipGenerateStream, GrpcModelInfer, TFServingPredict, TFServingClassify, TFServingRegress,
  TorchServe, TgiGenerate, TgiGenerateStream, SglangGenerate,
  VllmGenerateTokens, VllmScore, VllmRerank, VllmPooling, VllmClassify, OpenAITranscriptions, OpenAITranslations,
  AnthropicMessages, TorchServeGrpc,
}

/** Number of protocols (stats are laid out per protocol). */
export const PROTOCOL_COUNT: i32 = <i32>Protocol.TorchServeGrpc + 1;

/** Stable lower-case protocol names used in headers and stats. */
export function protocolName(p: Protocol): string {
  switch (p) {
    case Protocol.OpenAIChat: return "openai-chat";
    case Protocol.OpenAICompletions: return "openai-completions";
    case Protocol.OpenAIEmbeddings: return "openai-embeddings";
    case Protocol.OpenAIResponses: return "openai-responses";
    case Protocol.VllmGenerate: return "vllm-generate";
    case Protocol.KServeV1: return "kserve-v1";
    case Protocol.OipInfer: return "oip-infer";
    case Protocol.OipGenerate: return "oip-generate";
    case Protocol.OipGenerateStream: return "oip-generate-stream";
    case Protocol.GrpcModelInfer: return "kserve-v2-grpc";
    case Protocol.TFServingPredict: return "tfserving-predict";
    case Protocol.TFServingClassify: return "tfserving-classify";
    case Protocol.TFServingRegress: return "tfserving-regress";
    case Protocol.TorchServe: return "torchserve";
    case Protocol.TgiGenerate: return "tgi-generate";
    case Protocol.TgiGenerateStream: return "tgi-generate-stream";
    case Protocol.SglangGenerate: return "sglang-generate";
    case Protocol.VllmGenerateTokens: return "vllm-generate-tokens";
    case Protocol.VllmScore: return "vllm-score";
    case Protocol.VllmRerank: return "vllm-rerank";
    case Protocol.VllmPooling: return "vllm-pooling";
    case Protocol.VllmClassify: return "vllm-classify";
    case Protocol.OpenAITranscriptions: return "openai-transcriptions";
    case Protocol.OpenAITranslations: return "openai-translations";
    case Protocol.AnthropicMessages: return "anthropic-messages";
    case Protocol.TorchServeGrpc: return "torchserve-grpc";
  }
  return "unknown";
}

// Classification.flags bits (diagnostics for stats/logs; none changes routing by itself).
export const FLAG_MODEL_REJECTED: u32 = 1;   // a model/version value was present but refused (see rules)
export const FLAG_DUPLICATE_MODEL: u32 = 2;  // JSON body had more than one top-level "model"
export const FLAG_BODY_TRUNCATED: u32 = 4;   // the body scan ran out of bytes (prefix)
export const FLAG_BODY_TOO_DEEP: u32 = 8;    // JSON nesting beyond the depth bound
export const FLAG_BODY_MALFORMED: u32 = 16;  // body not a JSON object / invalid gRPC frame or protobuf
export const FLAG_BODY_COMPRESSED: u32 = 32; // gRPC frame compressed: model unreadable
export const FLAG_BODY_SCANNED: u32 = 64;    // classifyBody ran a scanner
export const FLAG_BODY_TRAILING: u32 = 128;  // a complete JSON body held more than one document (never routed on)

export class Classification {
  inference: bool = false;
  protocol: Protocol = Protocol.Unknown;
  model: string = "";
  version: string = "";
  /** TF Serving version label (`/labels/{l}`, ModelSpec.version_label): a name, not a version. */
  label: string = "";
  streaming: bool = false;
  maxTokens: i32 = -1;
  contentLength: i64 = -1;
  needsBody: bool = false;
  /** The request is gRPC (protobuf body); TF Serving protocols exist over both REST and gRPC. */
  grpc: bool = false;
  flags: u32 = 0;
  /** POST /generate: TGI, SGLang and vLLM's legacy server share the path; the body's keys decide. */
  sharedGenerate: bool = false;
  /** multipart/form-data boundary (audio routes), "" otherwise. */
  boundary: string = "";
  // Header-phase results, restored by classifyBody so that it can be called repeatedly.
  headerProtocol: Protocol = Protocol.Unknown;
  headerStreaming: bool = false;
  headerFlags: u32 = 0;

  reset(): void {
    this.inference = false;
    this.protocol = Protocol.Unknown;
    this.model = "";
    this.version = "";
    this.label = "";
    this.streaming = false;
    this.maxTokens = -1;
    this.contentLength = -1;
    this.needsBody = false;
    this.grpc = false;
    this.flags = 0;
    this.sharedGenerate = false;
    this.boundary = "";
    this.headerProtocol = Protocol.Unknown;
    this.headerStreaming = false;
    this.headerFlags = 0;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Path helpers (in place on the UTF-16 string)
// ---------------------------------------------------------------------------------------------------------

// TorchServe passes extra segments after /predictions/{m}/{v} to the handler (url_path), so allow some.
const MAX_SEGMENTS: i32 = 16;
// Segment bounds as code-unit offsets: SEG[2k] start, SEG[2k+1] end.
const SEG: usize = memory.data(MAX_SEGMENTS * 2 * 4);
// Percent-decoding output (UTF-8), with room for a 4-byte sequence past the cap.
const NAME_BUF: usize = memory.data(MODEL_CAP + 8);

// @ts-ignore: decorator
@inline function cu(s: usize, i: i32): u32 { return <u32>load<u16>(s + (<usize>i << 1)); }
// @ts-ignore: decorator
@inline function segStart(k: i32): i32 { return load<i32>(SEG + (<usize>k << 3)); }
// @ts-ignore: decorator
@inline function segEnd(k: i32): i32 { return load<i32>(SEG + (<usize>k << 3) + 4); }

// Splits the query-stripped path into segments; returns their count, or -1 when the path is not
// origin-form or has too many segments.
function splitPath(path: string): i32 {
  const s = changetype<usize>(path);
  let n = path.length;
  for (let i = 0; i < n; i++) {
    const c = cu(s, i);
    if (c == 0x3F || c == 0x23) { n = i; break; }
  }
  if (n == 0 || cu(s, 0) != 0x2F) return -1;
  let count = 0;
  let start = 1;
  for (let i = 1; i <= n; i++) {
    if (i == n || cu(s, i) == 0x2F) {
      if (count == MAX_SEGMENTS) return -1;
      store<i32>(SEG + (<usize>count << 3), start);
      store<i32>(SEG + (<usize>count << 3) + 4, i);
      count++;
      start = i + 1;
    }
  }
  return count;
}

// True when code units [a, b) of s equal the ASCII literal.
function rangeIs(s: usize, a: i32, b: i32, lit: string): bool {
  if (b - a != lit.length) return false;
  const l = changetype<usize>(lit);
  for (let i = 0; i < b - a; i++) if (cu(s, a + i) != cu(l, i)) return false;
  return true;
}

function seg(path: string, k: i32, lit: string): bool {
  return rangeIs(changetype<usize>(path), segStart(k), segEnd(k), lit);
}

// Offset of the last ':' in segment k, or -1.
function lastColon(path: string, k: i32): i32 {
  const s = changetype<usize>(path);
  for (let i = segEnd(k) - 1; i >= segStart(k); i--) if (cu(s, i) == 0x3A) return i;
  return -1;
}

/** Percent-decodes code units [a, b) of s into NAME_BUF as UTF-8 and validates the result as a path-borne
 *  name (see the rules at the top). Returns the byte length, or -1 when refused. */
function decodePathName(s: usize, a: i32, b: i32, cap: i32): i32 {
  let n = 0;
  let i = a;
  while (i < b) {
    let c = cu(s, i);
    if (c == 0x25 && i + 2 < b) {
      const h = hexValue(cu(s, i + 1) & 0xFF), l = hexValue(cu(s, i + 2) & 0xFF);
      if (cu(s, i + 1) < 0x80 && cu(s, i + 2) < 0x80 && h >= 0 && l >= 0) {
        if (n >= cap) return -1;
        store<u8>(NAME_BUF + n, <u8>((h << 4) | l));
        n++;
        i += 3;
        continue;
      }
    }
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < b) {
      const lo = cu(s, i + 1);
      if (lo >= 0xDC00 && lo <= 0xDFFF) { c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00); i++; }
    }
    if (c >= 0xD800 && c <= 0xDFFF) return -1; // lone surrogate
    n = putUtf8At(NAME_BUF, n, cap, c);
    if (n < 0) return -1;
    i++;
  }
  if (!validName(NAME_BUF, n, cap)) return -1;
  // Refuse "", "." and ".." pieces between '/' (traversal, absolute or doubled slashes).
  let start = 0;
  for (let k = 0; k <= n; k++) {
    if (k == n || load<u8>(NAME_BUF + k) == 0x2F) {
      const len = k - start;
      if (len == 0) return -1;
      if (load<u8>(NAME_BUF + start) == 0x2E && (len == 1 || (len == 2 && load<u8>(NAME_BUF + start + 1) == 0x2E))) return -1;
      start = k + 1;
    }
  }
  return n;
}

// Sets out.model from code units [a, b) of the path.
function modelFromPath(path: string, a: i32, b: i32, out: Classification): void {
  const n = decodePathName(changetype<usize>(path), a, b, MODEL_CAP);
  if (n < 0) { out.flags |= FLAG_MODEL_REJECTED; return; }
  out.model = String.UTF8.decodeUnsafe(NAME_BUF, <usize>n);
}

function versionFromPath(path: string, a: i32, b: i32, out: Classification): void {
  const n = decodePathName(changetype<usize>(path), a, b, VERSION_CAP);
  if (n < 0) { out.flags |= FLAG_MODEL_REJECTED; return; }
  out.version = String.UTF8.decodeUnsafe(NAME_BUF, <usize>n);
}

function labelFromPath(path: string, a: i32, b: i32, out: Classification): void {
  const n = decodePathName(changetype<usize>(path), a, b, VERSION_CAP);
  if (n < 0) { out.flags |= FLAG_MODEL_REJECTED; return; }
  out.label = String.UTF8.decodeUnsafe(NAME_BUF, <usize>n);
}

/** Decimal Content-Length (surrounding spaces/tabs allowed); -1 when absent, invalid or above 2^53. */
function parseContentLength(v: string): i64 {
  const s = changetype<usize>(v);
  let a = 0, b = v.length;
  while (a < b && (cu(s, a) == 0x20 || cu(s, a) == 0x09)) a++;
  while (b > a && (cu(s, b - 1) == 0x20 || cu(s, b - 1) == 0x09)) b--;
  if (a == b || b - a > 16) return -1;
  let r: i64 = 0;
  for (let i = a; i < b; i++) {
    const c = cu(s, i);
    if (c < 0x30 || c > 0x39) return -1;
    r = r * 10 + <i64>(c - 0x30);
  }
  return r > 9007199254740992 ? -1 : r;
}

function isGrpcContentType(ct: string): bool {
  const lit = "application/grpc";
  const n = lit.length;
  if (ct.length < n) return false;
  const s = changetype<usize>(ct), l = changetype<usize>(lit);
  for (let i = 0; i < n; i++) {
    let c = cu(s, i);
    if (c >= 0x41 && c <= 0x5A) c |= 0x20;
    if (c != cu(l, i)) return false;
  }
  if (ct.length == n) return true;
  const next = cu(s, n); // "application/grpc+proto", "application/grpc;charset", not "application/grpcx"
  return next == 0x2B || next == 0x3B || next == 0x20;
}

// ---------------------------------------------------------------------------------------------------------
// Header phase
// ---------------------------------------------------------------------------------------------------------

function setProto(out: Classification, p: Protocol, streaming: bool, needsBody: bool): void {
  out.inference = true;
  out.protocol = p;
  out.headerProtocol = p;
  out.streaming = streaming;
  out.headerStreaming = streaming;
  out.needsBody = needsBody;
}

// /v1/models/... (KServe v1 / TF Serving REST). Segment 0 is "v1", 1 is "models", count >= 3.
function classifyV1Models(path: string, count: i32, out: Classification): void {
  const last = count - 1;
  const colon = lastColon(path, last);
  if (colon < 0) return; // status / metadata / versions without a verb
  const s = changetype<usize>(path);
  const verbA = colon + 1, verbB = segEnd(last);
  const predict = rangeIs(s, verbA, verbB, "predict");
  const classify = rangeIs(s, verbA, verbB, "classify");
  const regress = rangeIs(s, verbA, verbB, "regress");
  const explain = rangeIs(s, verbA, verbB, "explain");
  if (count == 3) {
    if (predict || explain) setProto(out, Protocol.KServeV1, false, false);
    else if (classify) setProto(out, Protocol.TFServingClassify, false, false);
    else if (regress) setProto(out, Protocol.TFServingRegress, false, false);
    else return;
    modelFromPath(path, segStart(2), colon, out);
    return;
  }
  if (count == 5 && (seg(path, 3, "versions") || seg(path, 3, "labels"))) {
    if (predict) setProto(out, Protocol.TFServingPredict, false, false);
    else if (classify) setProto(out, Protocol.TFServingClassify, false, false);
    else if (regress) setProto(out, Protocol.TFServingRegress, false, false);
    else return;
    modelFromPath(path, segStart(2), segEnd(2), out);
    // TF Serving: /versions/{v} is a number, /labels/{l} a name such as "stable" (not a version).
    if (seg(path, 3, "labels")) labelFromPath(path, segStart(4), colon, out);
    else versionFromPath(path, segStart(4), colon, out);
  }
}

// /v2/models/{m}[/versions/{v}]/{infer|generate|generate_stream}.
function classifyV2Models(path: string, count: i32, out: Classification): void {
  let verb = -1;
  if (count == 4) verb = 3;
  else if (count == 6 && seg(path, 3, "versions")) verb = 5;
  else return;
  if (seg(path, verb, "infer")) setProto(out, Protocol.OipInfer, false, false);
  else if (seg(path, verb, "generate")) setProto(out, Protocol.OipGenerate, false, false);
  else if (seg(path, verb, "generate_stream")) setProto(out, Protocol.OipGenerateStream, true, false);
  else return;
  modelFromPath(path, segStart(2), segEnd(2), out);
  if (count == 6) versionFromPath(path, segStart(4), segEnd(4), out);
}

/**
 * Classifies a request from its headers. Resets `out` first. `path` is the :path pseudo-header (query
 * allowed), `contentType` / `contentLength` the header values ("" when absent).
 */
export function classifyHeaders(method: string, path: string, contentType: string, contentLength: string, out: Classification): void {
  out.reset();
  out.contentLength = parseContentLength(contentLength);
  headerPhase(method, path, contentType, out);
  out.headerFlags = out.flags;
}

function headerPhase(method: string, path: string, contentType: string, out: Classification): void {
  const count = splitPath(path);
  if (count <= 0) return;
  const post = method == "POST";

  // TorchServe ignores the method (`curl -T` sends PUT) and hands segments past {m}/{v} to the handler as
  // url_path: pytorch/serve frontend/server/src/main/java/org/pytorch/serve/http/api/rest/
  // InferenceRequestHandler.java@62c4d6a1 (handlePredictions: segments[2] model, segments[3] version).
  if (count >= 2 && (seg(path, 0, "predictions") || seg(path, 0, "explanations"))) {
    if (method.length == 0) return;
    setProto(out, Protocol.TorchServe, false, false);
    modelFromPath(path, segStart(1), segEnd(1), out);
    // "/predictions/m/" is model m without a version (Java's split drops trailing empty segments).
    if (count >= 3 && segEnd(2) > segStart(2)) versionFromPath(path, segStart(2), segEnd(2), out);
    return;
  }
  // SGLang serves /generate for POST and PUT (python/sglang/srt/entrypoints/http_server.py: api_route
  // "/generate", methods POST and PUT); PUT is SGLang's alone.
  if (method == "PUT" && count == 1 && seg(path, 0, "generate")) {
    setProto(out, Protocol.SglangGenerate, false, true);
    return;
  }
  if (!post) return;

  if (count == 1) {
    if (segEnd(0) == segStart(0)) {
      // TGI POST / (CompatGenerateRequest: inputs, parameters, stream), streaming from the body:
      // huggingface/text-generation-inference router/src/server.rs@db931fcf (route "/" → compat_generate).
      setProto(out, Protocol.TgiGenerate, false, true);
    } else if (seg(path, 0, "generate")) {
      setProto(out, Protocol.TgiGenerate, false, true);
      out.sharedGenerate = true;
    } else if (seg(path, 0, "generate_stream")) setProto(out, Protocol.TgiGenerateStream, true, true);
    // vLLM: vllm/entrypoints/pooling/score/api_router.py@4159f5ba (/score, /v1/score, /rerank, /v1/rerank,
    // /v2/rerank); /pooling and /classify from the pooling routers.
    else if (seg(path, 0, "score")) setProto(out, Protocol.VllmScore, false, true);
    else if (seg(path, 0, "rerank")) setProto(out, Protocol.VllmRerank, false, true);
    else if (seg(path, 0, "pooling")) setProto(out, Protocol.VllmPooling, false, true);
    else if (seg(path, 0, "classify")) setProto(out, Protocol.VllmClassify, false, true);
    return;
  }
  // KServe's OpenAI-compatible routes live under /openai (python/kserve/kserve/protocol/rest/openai/
  // endpoints.py@aaac4e29, KSERVE_OPENAI_ROUTE_PREFIX); Azure OpenAI v1 uses /openai/v1/ with the deployment
  // name in `model`. Only body-model routes move under the prefix.
  let b = 0;
  if (count >= 3 && seg(path, 0, "openai") && seg(path, 1, "v1")) b = 1;
  if (seg(path, b, "v1")) {
    const n = count - b;
    if (n == 2) {
      const k = b + 1;
      if (seg(path, k, "completions")) setProto(out, Protocol.OpenAICompletions, false, true);
      else if (seg(path, k, "embeddings")) setProto(out, Protocol.OpenAIEmbeddings, false, true);
      else if (seg(path, k, "responses")) setProto(out, Protocol.OpenAIResponses, false, true);
      else if (seg(path, k, "messages")) setProto(out, Protocol.AnthropicMessages, false, true);
      else if (seg(path, k, "score")) setProto(out, Protocol.VllmScore, false, true);
      else if (seg(path, k, "rerank")) setProto(out, Protocol.VllmRerank, false, true);
      else if (seg(path, k, "classify")) setProto(out, Protocol.VllmClassify, false, true);
      return;
    }
    if (n == 3 && seg(path, b + 1, "chat") && seg(path, b + 2, "completions")) {
      setProto(out, Protocol.OpenAIChat, false, true);
      return;
    }
    // multipart/form-data: `model` is a form field (openai-python audio/transcriptions).
    if (n == 3 && seg(path, b + 1, "audio")) {
      const t = seg(path, b + 2, "transcriptions"), tr = seg(path, b + 2, "translations");
      if (!t && !tr) return;
      setProto(out, t ? Protocol.OpenAITranscriptions : Protocol.OpenAITranslations, false, true);
      out.boundary = multipartBoundary(contentType);
      return;
    }
    if (b == 0 && seg(path, 1, "models") && count >= 3) classifyV1Models(path, count, out);
    return;
  }
  if (seg(path, 0, "v2")) {
    if (count == 2 && seg(path, 1, "rerank")) { setProto(out, Protocol.VllmRerank, false, true); return; }
    if (count >= 4 && seg(path, 1, "models")) classifyV2Models(path, count, out);
    return;
  }
  // vLLM token-in generation (GenerateRequest: token_ids, sampling_params, optional model and stream):
  // vllm/entrypoints/serve/disagg/api_router.py@063e5a89 (POST /inference/v1/generate).
  if (count == 3 && seg(path, 0, "inference") && seg(path, 1, "v1") && seg(path, 2, "generate")) {
    setProto(out, Protocol.VllmGenerateTokens, false, true);
    return;
  }
  if (count == 2 && isGrpcContentType(contentType)) {
    if (seg(path, 0, "inference.GRPCInferenceService")) {
      if (seg(path, 1, "ModelInfer")) setProto(out, Protocol.GrpcModelInfer, false, true);
      else if (seg(path, 1, "ModelStreamInfer")) setProto(out, Protocol.GrpcModelInfer, true, true);
      else return;
      out.grpc = true;
    } else if (seg(path, 0, "tensorflow.serving.PredictionService")) {
      if (seg(path, 1, "Predict")) setProto(out, Protocol.TFServingPredict, false, true);
      else if (seg(path, 1, "Classify")) setProto(out, Protocol.TFServingClassify, false, true);
      else if (seg(path, 1, "Regress")) setProto(out, Protocol.TFServingRegress, false, true);
      else return;
      out.grpc = true;
    } else if (seg(path, 0, "org.pytorch.serve.grpc.inference.InferenceAPIsService")) {
      // PredictionsRequest { model_name = 1; model_version = 2; input = 3 (map) }: pytorch/serve
      // frontend/server/src/main/resources/proto/inference.proto@62c4d6a1. StreamPredictions2 is bidirectional;
      // its first message names the model like the others.
      if (seg(path, 1, "Predictions")) setProto(out, Protocol.TorchServeGrpc, false, true);
      else if (seg(path, 1, "StreamPredictions") || seg(path, 1, "StreamPredictions2")) setProto(out, Protocol.TorchServeGrpc, true, true);
      else return;
      out.grpc = true;
    }
  }
}

/** The boundary parameter of a multipart/form-data content type (RFC 2046: 1-70 chars, maybe quoted); "" if none. */
function multipartBoundary(ct: string): string {
  const s = changetype<usize>(ct);
  const n = ct.length;
  const lit = "multipart/form-data";
  if (n < lit.length) return "";
  for (let i = 0; i < lit.length; i++) {
    let c = cu(s, i);
    if (c >= 0x41 && c <= 0x5A) c |= 0x20;
    if (c != <u32>lit.charCodeAt(i)) return "";
  }
  // Find "boundary=" (case-insensitive) after a ';'.
  for (let i = lit.length; i + 9 <= n; i++) {
    if (cu(s, i) != 0x3B) continue;
    let j = i + 1;
    while (j < n && (cu(s, j) == 0x20 || cu(s, j) == 0x09)) j++;
    const key = "boundary=";
    if (j + key.length > n) return "";
    let ok = true;
    for (let k = 0; k < key.length; k++) {
      let c = cu(s, j + k);
      if (c >= 0x41 && c <= 0x5A) c |= 0x20;
      if (c != <u32>key.charCodeAt(k)) { ok = false; break; }
    }
    if (!ok) continue;
    j += key.length;
    let a = j, e = j;
    if (j < n && cu(s, j) == 0x22) {
      a = j + 1; e = a;
      while (e < n && cu(s, e) != 0x22) e++;
      if (e >= n) return "";
    } else {
      while (e < n && cu(s, e) != 0x3B && cu(s, e) != 0x20 && cu(s, e) != 0x09) e++;
    }
    if (e - a < 1 || e - a > 70) return "";
    for (let k = a; k < e; k++) { const c = cu(s, k); if (c < 0x20 || c > 0x7E) return ""; }
    return ct.substring(a, e);
  }
  return "";
}

// ---------------------------------------------------------------------------------------------------------
// Body phase
// ---------------------------------------------------------------------------------------------------------

function scanFlags(status: i32): u32 {
  if (status == SCAN_TRUNCATED) return FLAG_BODY_TRUNCATED;
  if (status == SCAN_TOO_DEEP) return FLAG_BODY_TOO_DEEP;
  if (status == SCAN_MALFORMED) return FLAG_BODY_MALFORMED;
  if (status == SCAN_COMPRESSED) return FLAG_BODY_COMPRESSED;
  return 0;
}

function isJsonProtocol(p: Protocol): bool {
  return p == Protocol.OpenAIChat || p == Protocol.OpenAICompletions || p == Protocol.OpenAIEmbeddings ||
    p == Protocol.OpenAIResponses || p == Protocol.VllmGenerate || p == Protocol.TgiGenerate ||
    p == Protocol.TgiGenerateStream || p == Protocol.SglangGenerate || p == Protocol.OipGenerate ||
    p == Protocol.OipGenerateStream || p == Protocol.VllmGenerateTokens || p == Protocol.VllmScore ||
    p == Protocol.VllmRerank || p == Protocol.VllmPooling || p == Protocol.VllmClassify || p == Protocol.AnthropicMessages;
}

/** Pooling-style requests: one forward pass, no decoding (class "embed"; "stream" means nothing). */
function isPooling(p: Protocol): bool {
  return p == Protocol.OpenAIEmbeddings || p == Protocol.VllmScore || p == Protocol.VllmRerank ||
    p == Protocol.VllmPooling || p == Protocol.VllmClassify;
}

/**
 * Reads what the headers could not give from the request body: `len` bytes at `ptr`, possibly only a
 * prefix of the body (`complete` false). Never reads at or past ptr+len. Does nothing for non-inference
 * requests and for protocols whose model is in the path.
 */
export function classifyBody(ptr: usize, len: usize, complete: bool, out: Classification): void {
  if (!out.inference) return;
  const hp = out.headerProtocol;
  if (out.grpc) {
    // ModelInferRequest and TorchServe's PredictionsRequest both carry model_name = 1, model_version = 2.
    if (hp == Protocol.GrpcModelInfer || hp == Protocol.TorchServeGrpc) scanModelInfer(ptr, len, complete, pbFacts);
    else scanTfServing(ptr, len, complete, pbFacts);
    out.flags = out.headerFlags | FLAG_BODY_SCANNED | scanFlags(pbFacts.status);
    if (pbFacts.modelRejected) out.flags |= FLAG_MODEL_REJECTED;
    if (!out.needsBody) return; // the caller already settled the model (e.g. an override header)
    out.model = pbFacts.modelLen > 0 ? String.UTF8.decodeUnsafe(MODEL_BUF, <usize>pbFacts.modelLen) : "";
    const v = pbFacts.versionLen > 0 ? String.UTF8.decodeUnsafe(VERSION_BUF, <usize>pbFacts.versionLen) : "";
    // TF Serving ModelSpec.version_label is a label, version.value a version (oneof; last one read wins).
    if (pbFacts.versionIsLabel) { out.label = v; out.version = ""; } else { out.version = v; out.label = ""; }
    return;
  }
  if (hp == Protocol.OpenAITranscriptions || hp == Protocol.OpenAITranslations) {
    scanMultipart(ptr, len, complete, out.boundary, formFacts);
    out.flags = out.headerFlags | FLAG_BODY_SCANNED | scanFlags(formFacts.status);
    if (formFacts.modelRejected) out.flags |= FLAG_MODEL_REJECTED;
    out.streaming = formFacts.stream == 1;
    if (out.needsBody) out.model = formFacts.status == SCAN_MALFORMED || formFacts.modelLen <= 0 ? "" :
      String.UTF8.decodeUnsafe(MODEL_BUF, <usize>formFacts.modelLen);
    return;
  }
  if (!isJsonProtocol(hp)) return;

  const f = jsonFacts;
  scanJson(ptr, len, complete, f);
  out.flags = out.headerFlags | FLAG_BODY_SCANNED | scanFlags(f.status);
  if (f.modelDuplicate) out.flags |= FLAG_DUPLICATE_MODEL;
  if (f.modelRejected) out.flags |= FLAG_MODEL_REJECTED;

  if (f.trailing) out.flags |= FLAG_BODY_TRAILING;

  // The shared /generate path: body keys decide (rule at the top of the file).
  let p = hp;
  if (out.sharedGenerate) {
    if ((f.keys & (KEY_SAMPLING_PARAMS | KEY_TEXT | KEY_INPUT_IDS | KEY_INPUT_EMBEDS)) != 0) p = Protocol.SglangGenerate;
    else if ((f.keys & KEY_INPUTS) != 0) p = Protocol.TgiGenerate;
    else if ((f.keys & KEY_PROMPT) != 0) p = Protocol.VllmGenerate;
  }
  out.protocol = p;
  // The body names the model only where the path does not (OIP generate keeps its path model). A body that
  // is not one JSON document, or is malformed, names nothing: the server will refuse it, and a partial
  // parse must never choose a route.
  if (out.needsBody) {
    const usable = f.modelLen > 0 && f.status != SCAN_MALFORMED && !f.trailing;
    out.model = usable ? String.UTF8.decodeUnsafe(MODEL_BUF, <usize>f.modelLen) : "";
  }
  out.streaming = out.headerStreaming || (f.stream == 1 && !isPooling(p));

  let mt: i32 = -1;
  switch (p) {
    case Protocol.OpenAIChat: mt = f.maxCompletionTokens >= 0 ? f.maxCompletionTokens : f.maxTokens; break;
    case Protocol.OpenAICompletions: case Protocol.VllmGenerate: case Protocol.AnthropicMessages: mt = f.maxTokens; break;
    case Protocol.VllmGenerateTokens: mt = f.samplingMaxTokens; break;
    case Protocol.OpenAIResponses: mt = f.maxOutputTokens; break;
    case Protocol.TgiGenerate: case Protocol.TgiGenerateStream: mt = f.paramsMaxNewTokens; break;
    case Protocol.SglangGenerate: mt = f.samplingMaxNewTokens; break;
    case Protocol.OipGenerate: case Protocol.OipGenerateStream: mt = f.maxTokens >= 0 ? f.maxTokens : f.paramsMaxTokens; break;
  }
  out.maxTokens = mt;
}

// ---------------------------------------------------------------------------------------------------------
// Derived values
// ---------------------------------------------------------------------------------------------------------

function isGenerative(p: Protocol): bool {
  return p == Protocol.OpenAIChat || p == Protocol.OpenAICompletions || p == Protocol.OpenAIResponses ||
    p == Protocol.VllmGenerate || p == Protocol.OipGenerate || p == Protocol.OipGenerateStream ||
    p == Protocol.TgiGenerate || p == Protocol.TgiGenerateStream || p == Protocol.SglangGenerate ||
    p == Protocol.VllmGenerateTokens || p == Protocol.AnthropicMessages || p == Protocol.OpenAITranscriptions ||
    p == Protocol.OpenAITranslations;
}

/**
 * Value of the x-inference-class header: "embed" for OpenAI embeddings; "generate-stream" / "generate" for
 * the text-generation protocols (by `streaming`); "generate-stream" also for gRPC ModelStreamInfer (decoupled
 * streaming is what token-streaming LLM backends use); "predict" for tensor protocols (KServe v1, OIP infer,
 * TF Serving, TorchServe, unary ModelInfer) and, as a neutral value, for non-inference requests.
 */
export function requestClass(c: Classification): string {
  if (!c.inference) return "predict";
  const p = c.protocol;
  if (isPooling(p)) return "embed";
  if (isGenerative(p)) return c.streaming ? "generate-stream" : "generate";
  if ((p == Protocol.GrpcModelInfer || p == Protocol.TorchServeGrpc) && c.streaming) return "generate-stream";
  return "predict";
}

/**
 * A unitless cost estimate, roughly "prompt tokens + 4 x output tokens" so that long generations weigh
 * more than long prompts (decode steps are sequential, prefill is batched):
 *   bytes  = contentLength, or 1024 when unknown (capped at 2^40)
 *   generate / generate-stream: 1 + bytes/4 + 4 * out, out = maxTokens (capped at 2^24) or 256 when unknown
 *   embed:                      1 + bytes/4
 *   predict (tensor payloads):  1 + bytes/64
 *   not inference:              0
 * Always >= 1 for inference requests and far from i64 overflow.
 */
export function estimatedCost(c: Classification): i64 {
  if (!c.inference) return 0;
  let bytes: i64 = c.contentLength >= 0 ? c.contentLength : 1024;
  if (bytes > (<i64>1 << 40)) bytes = <i64>1 << 40;
  const cls = requestClass(c);
  if (cls == "predict") return 1 + bytes / 64;
  if (cls == "embed") return 1 + bytes / 4;
  let out: i64 = c.maxTokens >= 0 ? <i64>c.maxTokens : 256;
  if (out > (<i64>1 << 24)) out = <i64>1 << 24;
  return 1 + bytes / 4 + 4 * out;
}
