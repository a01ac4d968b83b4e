// The HTTP routes of each simulated engine, with the request and response shapes (errors included) of the real
// servers. Sources, per family:
//   OpenAI     https://platform.openai.com/docs/api-reference (chat, completions, embeddings, responses) as vLLM
//              serves them: vllm-project/vllm vllm/entrypoints/openai/*/api_router.py; errors
//              {"error": {"message", "type", "param", "code"}} (vllm/entrypoints/openai/engine/protocol.py ErrorInfo)
//   Anthropic  https://docs.anthropic.com/en/api/messages (vLLM: vllm/entrypoints/anthropic/api_router.py)
//   vLLM       legacy POST /generate: vllm/entrypoints/api_server.py ({"text": [prompt + output]}, streams
//              NUL-terminated JSON); rerank / score: https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html
//   SGLang     https://docs.sglang.ai/basic_usage/native_api.html (/generate, /get_model_info, /health)
//   TGI        https://huggingface.github.io/text-generation-inference/ (OpenAPI: /generate, /generate_stream, POST /,
//              /info; errors {"error", "error_type"}; SSE events "data:{...}")
//   KServe v2  https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_rest.md
//              (errors {"error": "..."}); generate extension: triton-inference-server/server
//              docs/protocol/extension_generate.md; repository index: docs/protocol/extension_model_repository.md
//   KServe v1  https://kserve.github.io/website/docs/concepts/architecture/data-plane/v1-protocol
//   TF Serving https://www.tensorflow.org/tfx/serving/api_rest
//   TorchServe https://pytorch.org/serve/inference_api.html
import { speaksOrca } from "../config/engines.js";
import type http from "node:http";
import type { H2Response } from "./h2c.js";
import { estimateTokens, hashText, type Engine, type Job, type Simulator } from "./server.js";
import type { SimEvent } from "./model.js";

export type Res = http.ServerResponse | H2Response;
type Complete = Extract<SimEvent, { type: "complete" }>;

export interface Call {
  method: string;
  path: string;
  url: URL;
  headers: http.IncomingHttpHeaders | NodeJS.Dict<string | string[]>;
  raw: string;
  res: Res;
  sim: Simulator;
}

type Handler = (c: Call) => void;
type Kind = "invalid" | "not_found" | "internal";
/** An engine's error body for a status, message and kind. */
type ErrorShape = (status: number, message: string, kind: Kind) => unknown;

const ORCA_REQUEST = "endpoint-load-metrics-format";

// ---------------------------------------------------------------------------------------------- error bodies
const openaiError: ErrorShape = (status, message, kind) => ({
  error: {
    message,
    type: kind === "not_found" ? "NotFoundError" : kind === "internal" ? "InternalServerError" : "BadRequestError",
    param: null,
    code: status,
  },
});
const anthropicError: ErrorShape = (_s, message, kind) => ({
  type: "error",
  error: { type: kind === "not_found" ? "not_found_error" : kind === "internal" ? "api_error" : "invalid_request_error", message },
});
const plainError: ErrorShape = (_s, message) => ({ error: message });
const tgiError: ErrorShape = (_s, message, kind) => ({ error: message, error_type: kind === "internal" ? "generation" : "validation" });
const sglangError: ErrorShape = (_s, message) => ({ error: { message } });
const torchserveError: ErrorShape = (status, message, kind) => ({
  code: status,
  type: kind === "not_found" ? "ModelNotFoundException" : kind === "internal" ? "InternalServerException" : "BadRequestException",
  message,
});

// ---------------------------------------------------------------------------------------------- plumbing
function alive(res: Res): boolean {
  if (res.writableEnded) return false;
  if ("stream" in res) return !res.stream.destroyed;
  return !res.destroyed;
}

/** Both response kinds write strings alike; TypeScript cannot call the union's overloads directly. */
function write(res: Res, text: string): void {
  (res as http.ServerResponse).write(text);
}

function destroy(res: Res): void {
  if ("stream" in res) res.stream.destroy();
  else res.destroy();
}

export function sendJson(res: Res, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...extra });
  res.end(text);
}

function empty(res: Res, status = 200): void {
  res.writeHead(status, { "content-length": "0" });
  res.end();
}

/** Parses a JSON object body; answers 400 in the engine's shape otherwise. */
function body(c: Call, err: ErrorShape, status = 400): Record<string, unknown> | undefined {
  try {
    const v = c.raw ? (JSON.parse(c.raw) as unknown) : {};
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* answered below */
  }
  sendJson(c.res, status, err(status, "request body must be a JSON object", "invalid"));
  return undefined;
}

function contentText(c: unknown): string {
  if (typeof c === "string") return c;
  if (Array.isArray(c))
    return c
      .map((p) => (p && typeof p === "object" && typeof (p as { text?: unknown }).text === "string" ? (p as { text: string }).text : ""))
      .join("");
  return "";
}

function tokens(v: unknown, dflt: number): number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.min(4096, Math.floor(v)) : dflt;
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

const rid = (prefix: string) => `${prefix}${hashText(String(Math.random()) + String(performance.now()))}`;
const now = () => Math.floor(Date.now() / 1000);

interface Reply {
  stream: boolean;
  /** Stream content type (default text/event-stream). */
  contentType?: string;
  /** Written right after the stream's headers. */
  begin?: () => string;
  token?: (text: string, index: number) => string;
  /** Written at the end of a stream. */
  end?: (text: string, e: Complete) => string;
  /** The non-streaming body. */
  final: (text: string, e: Complete) => unknown;
  /** Attach the ORCA report the request asked for (non-streaming success only, as vLLM). */
  orca?: boolean;
  err: ErrorShape;
}

/** Runs the job and answers in the reply's shape; failures become the engine's error body. */
function run(c: Call, job: Job, o: Reply): void {
  const res = c.res;
  const head = () => {
    if (res.headersSent) return;
    res.writeHead(200, { "content-type": o.contentType ?? "text/event-stream", "cache-control": "no-cache" });
    if (o.begin) write(res, o.begin());
    else if ("flushHeaders" in res && typeof res.flushHeaders === "function") res.flushHeaders();
  };
  if (o.stream) head();
  c.sim.execute(job, {
    stream: o.stream,
    ...(o.stream && o.token
      ? {
          token: (t: string, i: number) => {
            write(res, o.token!(t, i));
          },
        }
      : {}),
    done: (text, e) => {
      if (o.stream) {
        head();
        if (o.end) write(res, o.end(text, e));
        res.end();
        return;
      }
      sendJson(res, 200, o.final(text, e), o.orca ? c.sim.orcaHeader(c.headers[ORCA_REQUEST]) : {});
    },
    fail: (e) => {
      if (e.reason === "server_dead" || res.headersSent) {
        destroy(res);
        return;
      }
      if (e.reason === "prompt_too_long") sendJson(res, 400, o.err(400, "This model's maximum context length is exceeded.", "invalid"));
      else sendJson(res, 500, o.err(500, "simulated failure", "internal"));
    },
    alive: () => alive(res),
  });
}

/** The served model a request names; unknown names get 404 in the engine's shape. `strict` false: single-model
 *  servers (TGI, SGLang) ignore the field and serve their model. */
function model(c: Call, name: unknown, err: ErrorShape, strict = true): string | undefined {
  const models = c.sim.models;
  if (!strict || name === undefined || name === null || name === "") return models[0] ?? "model";
  if (typeof name === "string" && models.includes(name)) return name;
  sendJson(c.res, 404, err(404, `The model \`${String(name)}\` does not exist.`, "not_found"));
  return undefined;
}

const sse = (v: unknown) => `data: ${JSON.stringify(v)}\n\n`;
const sseEvent = (event: string, v: unknown) => `event: ${event}\ndata: ${JSON.stringify(v)}\n\n`;

// ---------------------------------------------------------------------------------------------- OpenAI
function chat(c: Call, strict = true): void {
  const b = body(c, openaiError);
  if (!b) return;
  const m = model(c, b.model, openaiError, strict);
  if (!m) return;
  const messages = Array.isArray(b.messages) ? (b.messages as Array<{ content?: unknown }>) : [];
  if (messages.length === 0) {
    sendJson(c.res, 400, openaiError(400, "messages must be a non-empty array", "invalid"));
    return;
  }
  const texts = messages.map((x) => contentText(x?.content));
  const first = texts[0] ?? "";
  const job: Job = {
    model: m,
    promptTokens: texts.reduce((n, t) => n + estimateTokens(t) + 4, 0),
    maxTokens: tokens(b.max_completion_tokens ?? b.max_tokens, c.sim.defaultMaxTokens),
    prefixId: `chat:${hashText(first)}`,
    prefixTokens: estimateTokens(first) + 4,
  };
  const id = rid("chatcmpl-");
  const created = now();
  const usage = (e: Complete) => ({
    prompt_tokens: e.promptTokens,
    completion_tokens: e.outputTokens,
    total_tokens: e.promptTokens + e.outputTokens,
    prompt_tokens_details: { cached_tokens: e.cachedTokens },
  });
  const chunk = (delta: unknown, finish: string | null) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model: m,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  run(c, job, {
    stream: b.stream === true,
    err: openaiError,
    orca: speaksOrca(c.sim.engine),
    final: (text, e) => ({
      id,
      object: "chat.completion",
      created,
      model: m,
      choices: [{ index: 0, message: { role: "assistant", content: text }, logprobs: null, finish_reason: "length" }],
      usage: usage(e),
    }),
    token: (text, i) => sse(chunk(i === 0 ? { role: "assistant", content: text } : { content: text }, null)),
    end: (_t, e) =>
      sse(chunk({}, "length")) +
      (obj(b.stream_options).include_usage === true
        ? sse({ id, object: "chat.completion.chunk", created, model: m, choices: [], usage: usage(e) })
        : "") +
      "data: [DONE]\n\n",
  });
}

function completions(c: Call, strict = true): void {
  const b = body(c, openaiError);
  if (!b) return;
  const m = model(c, b.model, openaiError, strict);
  if (!m) return;
  const prompt = Array.isArray(b.prompt) ? b.prompt.map(String).join("") : typeof b.prompt === "string" ? b.prompt : "";
  if (b.prompt === undefined) {
    sendJson(c.res, 400, openaiError(400, "prompt is required", "invalid"));
    return;
  }
  const pt = estimateTokens(prompt);
  const id = rid("cmpl-");
  const created = now();
  const choice = (text: string, finish: string | null) => ({
    id,
    object: "text_completion",
    created,
    model: m,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
  });
  run(
    c,
    {
      model: m,
      promptTokens: pt,
      maxTokens: tokens(b.max_tokens, c.sim.defaultMaxTokens),
      prefixId: `cmpl:${hashText(prompt)}`,
      prefixTokens: pt,
    },
    {
      stream: b.stream === true,
      err: openaiError,
      orca: speaksOrca(c.sim.engine),
      final: (text, e) => ({
        ...choice(text, "length"),
        usage: { prompt_tokens: e.promptTokens, completion_tokens: e.outputTokens, total_tokens: e.promptTokens + e.outputTokens },
      }),
      token: (text) => sse(choice(text, null)),
      end: () => sse(choice("", "length")) + "data: [DONE]\n\n",
    },
  );
}

function embeddings(c: Call, strict = true): void {
  const b = body(c, openaiError);
  if (!b) return;
  const m = model(c, b.model, openaiError, strict);
  if (!m) return;
  if (b.input === undefined) {
    sendJson(c.res, 400, openaiError(400, "input is required", "invalid"));
    return;
  }
  const inputs = Array.isArray(b.input)
    ? b.input.map((x) => (typeof x === "string" ? x : JSON.stringify(x)))
    : [typeof b.input === "string" ? b.input : JSON.stringify(b.input)];
  const base64 = b.encoding_format === "base64"; // the official SDKs ask for base64 by default and decode it
  const vector = (t: string) => Array.from({ length: 8 }, (_, k) => Math.round(Math.sin(t.length + k) * 1e4) / 1e4);
  const encode = (v: number[]) => Buffer.from(new Float32Array(v).buffer).toString("base64");
  run(
    c,
    { model: m, promptTokens: inputs.reduce((n, t) => n + estimateTokens(t), 0), maxTokens: 0 },
    {
      stream: false,
      err: openaiError,
      final: (_t, e) => ({
        object: "list",
        model: m,
        data: inputs.map((t, index) => ({ object: "embedding", index, embedding: base64 ? encode(vector(t)) : vector(t) })),
        usage: { prompt_tokens: e.promptTokens, total_tokens: e.promptTokens },
      }),
    },
  );
}

// OpenAI Responses (https://platform.openai.com/docs/api-reference/responses; vLLM serving_responses.py).
function responses(c: Call): void {
  const b = body(c, openaiError);
  if (!b) return;
  const m = model(c, b.model, openaiError);
  if (!m) return;
  const items =
    typeof b.input === "string" ? [b.input] : Array.isArray(b.input) ? b.input.map((x) => contentText(obj(x).content)) : undefined;
  if (!items) {
    sendJson(c.res, 400, openaiError(400, "input must be a string or an array of input items", "invalid"));
    return;
  }
  const instructions = typeof b.instructions === "string" ? b.instructions : "";
  const pt = estimateTokens(instructions + items.join("")) + 4 * items.length;
  const id = rid("resp_");
  const msgId = rid("msg_");
  const created = now();
  let seq = 0;
  const response = (status: string, text: string, e?: Complete) => ({
    id,
    object: "response",
    created_at: created,
    status,
    model: m,
    instructions: instructions || null,
    max_output_tokens: b.max_output_tokens ?? null,
    output: e
      ? [{ type: "message", id: msgId, status: "completed", role: "assistant", content: [{ type: "output_text", text, annotations: [] }] }]
      : [],
    usage: e
      ? {
          input_tokens: e.promptTokens,
          input_tokens_details: { cached_tokens: e.cachedTokens },
          output_tokens: e.outputTokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: e.promptTokens + e.outputTokens,
        }
      : null,
    error: null,
    incomplete_details: null,
    parallel_tool_calls: true,
    tool_choice: "auto",
    tools: [],
    temperature: 1,
    top_p: 1,
    text: { format: { type: "text" } },
  });
  const ev = (type: string, v: Record<string, unknown>) => sseEvent(type, { type, sequence_number: seq++, ...v });
  run(
    c,
    {
      model: m,
      promptTokens: pt,
      maxTokens: tokens(b.max_output_tokens, c.sim.defaultMaxTokens),
      prefixId: `resp:${hashText(instructions || (items[0] ?? ""))}`,
      prefixTokens: estimateTokens(instructions || (items[0] ?? "")),
    },
    {
      stream: b.stream === true,
      err: openaiError,
      final: (text, e) => response("completed", text, e),
      begin: () =>
        ev("response.created", { response: response("in_progress", "") }) +
        ev("response.output_item.added", {
          output_index: 0,
          item: { type: "message", id: msgId, status: "in_progress", role: "assistant", content: [] },
        }) +
        ev("response.content_part.added", {
          item_id: msgId,
          output_index: 0,
          content_index: 0,
          part: { type: "output_text", text: "", annotations: [] },
        }),
      token: (text) => ev("response.output_text.delta", { item_id: msgId, output_index: 0, content_index: 0, delta: text }),
      end: (text, e) =>
        ev("response.output_text.done", { item_id: msgId, output_index: 0, content_index: 0, text }) +
        ev("response.content_part.done", {
          item_id: msgId,
          output_index: 0,
          content_index: 0,
          part: { type: "output_text", text, annotations: [] },
        }) +
        ev("response.output_item.done", {
          output_index: 0,
          item: {
            type: "message",
            id: msgId,
            status: "completed",
            role: "assistant",
            content: [{ type: "output_text", text, annotations: [] }],
          },
        }) +
        ev("response.completed", { response: response("completed", text, e) }),
    },
  );
}

// Anthropic Messages (vLLM serves it at /v1/messages).
function messages(c: Call): void {
  const b = body(c, anthropicError);
  if (!b) return;
  const m = model(c, b.model, anthropicError);
  if (!m) return;
  const msgs = Array.isArray(b.messages) ? (b.messages as Array<{ content?: unknown }>) : [];
  if (msgs.length === 0) {
    sendJson(c.res, 400, anthropicError(400, "messages: at least one message is required", "invalid"));
    return;
  }
  if (typeof b.max_tokens !== "number") {
    sendJson(c.res, 400, anthropicError(400, "max_tokens: Field required", "invalid"));
    return;
  }
  const system = contentText(b.system);
  const texts = msgs.map((x) => contentText(x?.content));
  const head = system || (texts[0] ?? "");
  const id = rid("msg_");
  const message = (content: unknown[], stop: string | null, usage: { input_tokens: number; output_tokens: number }) => ({
    id,
    type: "message",
    role: "assistant",
    model: m,
    content,
    stop_reason: stop,
    stop_sequence: null,
    usage,
  });
  let input = 0;
  run(
    c,
    {
      model: m,
      promptTokens: (input = estimateTokens(system + texts.join("")) + 4 * texts.length),
      maxTokens: tokens(b.max_tokens, c.sim.defaultMaxTokens),
      prefixId: `msg:${hashText(head)}`,
      prefixTokens: estimateTokens(head),
    },
    {
      stream: b.stream === true,
      err: anthropicError,
      final: (text, e) => message([{ type: "text", text }], "max_tokens", { input_tokens: e.promptTokens, output_tokens: e.outputTokens }),
      begin: () =>
        sseEvent("message_start", { type: "message_start", message: message([], null, { input_tokens: input, output_tokens: 0 }) }) +
        sseEvent("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
      token: (text) => sseEvent("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text } }),
      end: (_t, e) =>
        sseEvent("content_block_stop", { type: "content_block_stop", index: 0 }) +
        sseEvent("message_delta", {
          type: "message_delta",
          delta: { stop_reason: "max_tokens", stop_sequence: null },
          usage: { output_tokens: e.outputTokens },
        }) +
        sseEvent("message_stop", { type: "message_stop" }),
    },
  );
}

function modelList(c: Call): void {
  sendJson(c.res, 200, {
    object: "list",
    data: c.sim.models.map((id) => ({
      id,
      object: "model",
      created: 1_700_000_000,
      owned_by: "inference-router-sim",
      root: id,
      max_model_len: c.sim.model.spec.kvCacheTokens,
    })),
  });
}

// ---------------------------------------------------------------------------------------------- vLLM extras
function vllmGenerate(c: Call): void {
  const b = body(c, plainError);
  if (!b) return;
  if (typeof b.prompt !== "string") {
    sendJson(c.res, 400, { error: "prompt must be a string" });
    return;
  }
  const prompt = b.prompt;
  const m = c.sim.models[0] ?? "model";
  const pt = estimateTokens(prompt);
  let sofar = "";
  run(
    c,
    {
      model: m,
      promptTokens: pt,
      maxTokens: tokens(b.max_tokens, c.sim.defaultMaxTokens),
      prefixId: `gen:${hashText(prompt)}`,
      prefixTokens: pt,
    },
    {
      stream: b.stream === true,
      contentType: "application/json",
      err: plainError,
      final: (text) => ({ text: [prompt + text] }),
      token: (text) => {
        sofar += text;
        return `${JSON.stringify({ text: [prompt + sofar] })}\0`;
      },
    },
  );
}

// Tokens in, tokens out (vllm-project/vllm vllm/entrypoints/serve/disagg/protocol.py @
// 343bacafc7bf4f973a105e8e7d99fa7de61f7e18: GenerateRequest {request_id?, token_ids, sampling_params, model?,
// stream?}, GenerateResponse {request_id, choices: [{index, logprobs, finish_reason, token_ids}]}).
function tokensGenerate(c: Call): void {
  const b = body(c, openaiError);
  if (!b) return;
  const m = model(c, b.model, openaiError);
  if (!m) return;
  const ids = Array.isArray(b.token_ids) && b.token_ids.every((x) => Number.isInteger(x)) ? (b.token_ids as number[]) : undefined;
  if (!ids || typeof b.sampling_params !== "object" || b.sampling_params === null) {
    sendJson(c.res, 400, openaiError(400, "token_ids (integers) and sampling_params are required", "invalid"));
    return;
  }
  if (b.stream === true) {
    sendJson(c.res, 400, openaiError(400, "streaming of /inference/v1/generate is not simulated", "invalid"));
    return;
  }
  const requestId = typeof b.request_id === "string" ? b.request_id : rid("");
  run(
    c,
    {
      model: m,
      promptTokens: Math.max(1, ids.length),
      maxTokens: tokens(obj(b.sampling_params).max_tokens, 16),
      prefixId: `tok:${hashText(ids.slice(0, 64).join(","))}`,
      prefixTokens: ids.length,
    },
    {
      stream: false,
      err: openaiError,
      final: (_t, e) => ({
        request_id: requestId,
        choices: [
          {
            index: 0,
            logprobs: null,
            finish_reason: "length",
            token_ids: Array.from({ length: e.outputTokens }, (_, i) => 1000 + ((i * 7 + 3) % 16)),
          },
        ],
        prompt_logprobs: null,
        kv_transfer_params: null,
      }),
    },
  );
}

function rerank(c: Call): void {
  const b = body(c, openaiError);
  if (!b) return;
  const m = model(c, b.model, openaiError);
  if (!m) return;
  const docs = Array.isArray(b.documents) ? b.documents.map((d) => (typeof d === "string" ? d : contentText([d]))) : undefined;
  if (typeof b.query !== "string" || !docs) {
    sendJson(c.res, 400, openaiError(400, "query (string) and documents (array) are required", "invalid"));
    return;
  }
  const query = b.query;
  const topN = typeof b.top_n === "number" && b.top_n > 0 ? Math.floor(b.top_n) : docs.length;
  run(
    c,
    { model: m, promptTokens: docs.reduce((n, d) => n + estimateTokens(query + d), 0), maxTokens: 0 },
    {
      stream: false,
      err: openaiError,
      final: (_t, e) => ({
        id: rid("rerank-"),
        model: m,
        usage: { total_tokens: e.promptTokens },
        results: docs
          .map((d, index) => ({ index, document: { text: d }, relevance_score: similarity(query, d) }))
          .sort((x, y) => y.relevance_score - x.relevance_score)
          .slice(0, topN),
      }),
    },
  );
}

function score(c: Call): void {
  const b = body(c, openaiError);
  if (!b) return;
  const m = model(c, b.model, openaiError);
  if (!m) return;
  const t1 = typeof b.text_1 === "string" ? b.text_1 : undefined;
  const t2 = typeof b.text_2 === "string" ? [b.text_2] : Array.isArray(b.text_2) ? b.text_2.map(String) : undefined;
  if (t1 === undefined || !t2) {
    sendJson(c.res, 400, openaiError(400, "text_1 and text_2 are required", "invalid"));
    return;
  }
  run(
    c,
    { model: m, promptTokens: t2.reduce((n, t) => n + estimateTokens(t1 + t), 0), maxTokens: 0 },
    {
      stream: false,
      err: openaiError,
      final: (_t, e) => ({
        id: rid("score-"),
        object: "list",
        created: now(),
        model: m,
        data: t2.map((t, index) => ({ index, object: "score", score: similarity(t1, t) })),
        usage: { prompt_tokens: e.promptTokens, total_tokens: e.promptTokens },
      }),
    },
  );
}

/** A deterministic 0..1 relevance from shared words (a stand-in for a cross-encoder). */
function similarity(a: string, b: string): number {
  const wa = new Set(a.toLowerCase().split(/\W+/).filter(Boolean));
  const wb = b.toLowerCase().split(/\W+/).filter(Boolean);
  const hits = wb.filter((w) => wa.has(w)).length;
  return Math.round((hits / Math.max(1, wb.length)) * 1e4) / 1e4;
}

// ---------------------------------------------------------------------------------------------- SGLang native
function sglangGenerate(c: Call): void {
  const b = body(c, sglangError);
  if (!b) return;
  const text = typeof b.text === "string" ? b.text : undefined;
  const ids = Array.isArray(b.input_ids) ? b.input_ids : undefined;
  if (text === undefined && !ids) {
    sendJson(
      c.res,
      400,
      sglangError(400, "Either text or input_ids should be provided (one request; batches are not simulated).", "invalid"),
    );
    return;
  }
  const sp = obj(b.sampling_params);
  const m = c.sim.models[0] ?? "model";
  const pt = text !== undefined ? estimateTokens(text) : Math.max(1, ids!.length);
  const id = hashText(String(Math.random()));
  const t0 = performance.now();
  let sofar = "";
  const meta = (n: number, e?: Complete) => ({
    id,
    finish_reason: e ? { type: "length", length: e.outputTokens } : null,
    prompt_tokens: pt,
    completion_tokens: n,
    cached_tokens: e?.cachedTokens ?? 0,
    e2e_latency: (performance.now() - t0) / 1000,
  });
  let n = 0;
  run(
    c,
    {
      model: m,
      promptTokens: pt,
      maxTokens: tokens(sp.max_new_tokens, 128),
      prefixId: `sgl:${hashText(text ?? ids!.join(","))}`,
      prefixTokens: pt,
    },
    {
      stream: b.stream === true,
      err: sglangError,
      final: (out, e) => ({ text: out, meta_info: meta(e.outputTokens, e) }),
      token: (t) => {
        sofar += t;
        n++;
        return sse({ text: sofar, meta_info: meta(n) });
      },
      end: () => "data: [DONE]\n\n",
    },
  );
}

// ---------------------------------------------------------------------------------------------- TGI native
function tgiGenerate(c: Call, mode: "generate" | "stream" | "compat"): void {
  const b = body(c, tgiError, 422);
  if (!b) return;
  if (typeof b.inputs !== "string") {
    sendJson(c.res, 422, tgiError(422, "Failed to deserialize the JSON body into the target type: missing field `inputs`", "invalid"));
    return;
  }
  const inputs = b.inputs;
  const p = obj(b.parameters);
  const stream = mode === "stream" || (mode === "compat" && b.stream === true);
  const m = c.sim.models[0] ?? "model";
  const pt = estimateTokens(inputs);
  const details = (e: Complete) => ({ finish_reason: "length", generated_tokens: e.outputTokens, seed: null });
  run(
    c,
    { model: m, promptTokens: pt, maxTokens: tokens(p.max_new_tokens, 100), prefixId: `tgi:${hashText(inputs)}`, prefixTokens: pt },
    {
      stream,
      err: tgiError,
      final: (text, e) => {
        const one = { generated_text: text, ...(p.details === true ? { details: { ...details(e), prefill: [], tokens: [] } } : {}) };
        return mode === "compat" ? [one] : one;
      },
      // TGI's last event carries the whole text and details; its events are written "data:{...}".
      token: (text, i) =>
        `data:${JSON.stringify({ index: i + 1, token: { id: i, text, logprob: -0.1, special: false }, generated_text: null, details: null, top_tokens: null })}\n\n`,
      end: (text, e) =>
        `data:${JSON.stringify({ index: e.outputTokens + 1, token: { id: 0, text: "", logprob: 0, special: true }, generated_text: text, details: details(e), top_tokens: null })}\n\n`,
    },
  );
}

// ---------------------------------------------------------------------------------------------- KServe v2 REST
const v2Name = (c: Call) => (c.sim.engine === "triton" ? "triton" : "kserve");

/** KServe v2 model metadata of a simulated model, as REST and gRPC (sim/grpc.ts) both answer it. */
export function v2Metadata(engine: string, m: string): Record<string, unknown> {
  const llm = engine === "triton";
  return {
    name: m,
    versions: ["1"],
    platform: llm ? "ensemble" : "",
    inputs: llm
      ? [
          { name: "text_input", datatype: "BYTES", shape: [-1] },
          { name: "max_tokens", datatype: "INT32", shape: [-1] },
          { name: "stream", datatype: "BOOL", shape: [-1] },
        ]
      : [{ name: "input-0", datatype: "FP32", shape: [-1, -1] }],
    outputs: llm ? [{ name: "text_output", datatype: "BYTES", shape: [-1] }] : [{ name: "output-0", datatype: "FP32", shape: [-1, 4] }],
  };
}

function v2Infer(c: Call, m: string): void {
  const b = body(c, plainError);
  if (!b) return;
  if (!Array.isArray(b.inputs)) {
    sendJson(c.res, 400, { error: "inputs: expected an array of input tensors" });
    return;
  }
  const inputs = b.inputs.map(obj);
  const text = inputs.find((t) => t.name === "text_input");
  const textValue = text && Array.isArray(text.data) ? String(text.data[0] ?? "") : undefined;
  const maxIn = inputs.find((t) => t.name === "max_tokens");
  const maxTokens =
    textValue === undefined ? 0 : tokens(Array.isArray(maxIn?.data) ? maxIn.data[0] : obj(b.parameters).max_tokens, c.sim.defaultMaxTokens);
  const reqId = typeof b.id === "string" ? b.id : undefined;
  run(
    c,
    { model: m, promptTokens: textValue !== undefined ? estimateTokens(textValue) : Math.max(16, estimateTokens(c.raw)), maxTokens },
    {
      stream: false,
      err: plainError,
      orca: speaksOrca(c.sim.engine),
      final: (out) => ({
        model_name: m,
        model_version: "1",
        ...(reqId ? { id: reqId } : {}),
        outputs:
          textValue !== undefined
            ? [{ name: "text_output", datatype: "BYTES", shape: [1], data: [out] }]
            : [{ name: "output-0", datatype: "FP32", shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4] }],
      }),
    },
  );
}

function v2Generate(c: Call, m: string, stream: boolean): void {
  const b = body(c, plainError);
  if (!b) return;
  const input = typeof b.text_input === "string" ? b.text_input : typeof b.prompt === "string" ? b.prompt : undefined;
  if (input === undefined) {
    sendJson(c.res, 400, { error: "text_input: expected a string" });
    return;
  }
  const params = obj(b.parameters);
  const pt = estimateTokens(input);
  run(
    c,
    {
      model: m,
      promptTokens: pt,
      maxTokens: tokens(b.max_tokens ?? params.max_tokens, c.sim.defaultMaxTokens),
      prefixId: `gen:${hashText(input)}`,
      prefixTokens: pt,
    },
    {
      stream,
      err: plainError,
      orca: speaksOrca(c.sim.engine),
      final: (text) => ({ model_name: m, model_version: "1", text_output: text }),
      token: (text) => sse({ model_name: m, model_version: "1", text_output: text }),
    },
  );
}

const V2_MODEL = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer|\/generate|\/generate_stream)?$/;

function kserveV2(c: Call): Handler | undefined {
  const { method, path } = c;
  if (method === "GET" && path === "/v2")
    return () =>
      sendJson(c.res, 200, {
        name: v2Name(c),
        version: "2.50.0",
        extensions: ["classification", "model_repository", "schedule_policy", "model_configuration", "statistics", "generate"],
      });
  if (method === "GET" && (path === "/v2/health/live" || path === "/v2/health/ready")) return () => empty(c.res);
  if (method === "POST" && path === "/v2/repository/index") {
    return () => {
      const b = body(c, plainError);
      if (b)
        sendJson(
          c.res,
          200,
          c.sim.models.map((name) => ({ name, version: "1", state: "READY" })),
        );
    };
  }
  const v2 = V2_MODEL.exec(path);
  if (!v2) return undefined;
  const name = safeDecode(v2[1]!);
  const version = v2[2] !== undefined ? safeDecode(v2[2]) : undefined;
  const op = v2[3] ?? "";
  const ok = method === (op === "" || op === "/ready" ? "GET" : "POST");
  if (!ok) return undefined;
  return () => {
    if (name === undefined || !c.sim.models.includes(name)) {
      sendJson(c.res, 404, { error: `Request for unknown model: '${name ?? v2[1]}' is not found` });
      return;
    }
    if (version !== undefined && version !== "1") {
      sendJson(c.res, 404, { error: `Request for unknown model: '${name}' version ${version} is not found` });
      return;
    }
    if (op === "") sendJson(c.res, 200, v2Metadata(c.sim.engine, name));
    else if (op === "/ready") empty(c.res);
    else if (op === "/infer") v2Infer(c, name);
    else v2Generate(c, name, op === "/generate_stream");
  };
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------- KServe v1 / TF Serving
const V1_VERB =
  /^\/v1\/models\/([^/:]+(?::[^/:]+)*?)(?:\/(versions|labels)\/([^/:]+))?(?::(predict|explain|classify|regress))?(\/metadata)?$/;

function tensorPredictions(n: number): number[][] {
  return Array.from({ length: Math.max(1, n) }, (_, i) => [0.1 + i / 100, 0.2, 0.3, 0.4]);
}

function v1Models(c: Call): Handler | undefined {
  const tf = c.sim.engine === "tfserving";
  if (!tf && c.method === "GET" && c.path === "/") return () => sendJson(c.res, 200, { status: "alive" });
  if (!tf && c.method === "GET" && c.path === "/v1/models") return () => sendJson(c.res, 200, { models: c.sim.models });
  const v = V1_VERB.exec(c.path);
  if (!v) return undefined;
  const name = safeDecode(v[1]!);
  const kind = v[2];
  const ver = v[3];
  const verb = v[4];
  const meta = v[5] !== undefined;
  if (verb !== undefined && c.method !== "POST") return undefined;
  if (verb === undefined && c.method !== "GET") return undefined;
  if (!tf && (kind !== undefined || meta || verb === "classify" || verb === "regress")) return undefined; // KServe v1 has no such routes
  if (tf && verb === "explain") return undefined;
  return () => {
    const spec = kind === undefined ? `Latest(${name})` : `Specific(${name}, ${ver})`;
    const known =
      name !== undefined && c.sim.models.includes(name) && (kind === undefined || (kind === "versions" ? ver === "1" : ver === "stable"));
    if (!known) {
      sendJson(c.res, 404, { error: tf ? `Servable not found for request: ${spec}` : `Model with name ${name ?? v[1]} does not exist.` });
      return;
    }
    if (verb === undefined) {
      if (!tf) {
        sendJson(c.res, 200, { name, ready: true });
        return;
      }
      if (meta) {
        sendJson(c.res, 200, {
          model_spec: { name, signature_name: "", version: "1" },
          metadata: {
            signature_def: {
              signature_def: {
                serving_default: {
                  inputs: { input: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: "-1" }, { size: "-1" }] }, name: "input:0" } },
                  outputs: { output: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: "-1" }, { size: "4" }] }, name: "output:0" } },
                  method_name: "tensorflow/serving/predict",
                },
              },
            },
          },
        });
        return;
      }
      sendJson(c.res, 200, {
        model_version_status: [{ version: "1", state: "AVAILABLE", status: { error_code: "OK", error_message: "" } }],
      });
      return;
    }
    const b = body(c, plainError);
    if (!b) return;
    const key = verb === "classify" || verb === "regress" ? "examples" : "instances";
    const rows = Array.isArray(b[key]) ? (b[key] as unknown[]) : undefined;
    const columnar = verb === "predict" && rows === undefined && b.inputs !== undefined;
    if (!rows && !columnar) {
      sendJson(c.res, 400, {
        error: tf
          ? key === "examples"
            ? "Missing 'examples' key"
            : "Missing 'inputs' or 'instances' key"
          : 'Expected "instances" or "inputs" in the request body',
      });
      return;
    }
    const n = rows?.length ?? 1;
    run(
      c,
      { model: name!, promptTokens: Math.max(16, estimateTokens(c.raw)), maxTokens: 0 },
      {
        stream: false,
        err: plainError,
        final: () => {
          if (verb === "classify")
            return {
              result: Array.from({ length: n }, () => [
                ["class_a", 0.8],
                ["class_b", 0.2],
              ]),
            };
          if (verb === "regress") return { result: Array.from({ length: n }, (_, i) => 0.5 + i / 100) };
          if (verb === "explain") return { explanations: tensorPredictions(n) };
          return columnar ? { outputs: tensorPredictions(n) } : { predictions: tensorPredictions(n) };
        },
      },
    );
  };
}

// ---------------------------------------------------------------------------------------------- TorchServe
const TS = /^\/(predictions|explanations)\/([^/]+)(?:\/([^/]+))?$/;

function torchserve(c: Call): Handler | undefined {
  if (c.path === "/ping" && c.method === "GET") return () => sendJson(c.res, 200, { status: "Healthy" });
  const t = TS.exec(c.path);
  if (!t || (c.method !== "POST" && c.method !== "PUT")) return undefined;
  return () => {
    const name = safeDecode(t[2]!);
    if (name === undefined || !c.sim.models.includes(name)) {
      sendJson(c.res, 404, torchserveError(404, `Model not found: ${name ?? t[2]}`, "not_found"));
      return;
    }
    if (t[3] !== undefined && t[3] !== "1.0" && t[3] !== "1") {
      sendJson(c.res, 404, {
        code: 404,
        type: "ModelVersionNotFoundException",
        message: `Model version: ${t[3]} does not exist for model: ${name}`,
      });
      return;
    }
    // A handler's output is whatever it returns: text in ("prompt"/"text"/"data" in a JSON body) gives text out
    // (an LLM handler), any other body class probabilities (the image classifier of the docs).
    let prompt: string | undefined;
    try {
      const j = obj(JSON.parse(c.raw));
      for (const k of ["prompt", "text", "data"])
        if (typeof j[k] === "string") {
          prompt = j[k] as string;
          break;
        }
    } catch {
      /* binary or text body */
    }
    const explain = t[1] === "explanations";
    run(
      c,
      {
        model: name,
        promptTokens: prompt !== undefined ? estimateTokens(prompt) : Math.max(16, estimateTokens(c.raw)),
        maxTokens: prompt !== undefined && !explain ? c.sim.defaultMaxTokens : 0,
      },
      {
        stream: false,
        err: torchserveError,
        final: (text) =>
          explain
            ? [[0.1, 0.2, 0.3, 0.4]]
            : prompt !== undefined
              ? { generated_text: text }
              : { tabby: 0.2731, tiger_cat: 0.1821, Egyptian_cat: 0.1531, lynx: 0.0201, plastic_bag: 0.0052 },
      },
    );
  };
}

// ---------------------------------------------------------------------------------------------- route tables
/** The handler of a request on this engine, or undefined (404). */
export function routeFor(engine: Engine, c: Call): Handler | undefined {
  const { method, path } = c;
  const get = method === "GET";
  const post = method === "POST";
  switch (engine) {
    case "vllm":
      if (get && (path === "/health" || path === "/ping")) return () => empty(c.res);
      if (get && path === "/version") return () => sendJson(c.res, 200, { version: "0.11.0" });
      if (get && path === "/v1/models") return modelList;
      if (!post) return undefined;
      if (path === "/v1/chat/completions") return (x) => chat(x);
      if (path === "/v1/completions") return (x) => completions(x);
      if (path === "/v1/embeddings") return (x) => embeddings(x);
      if (path === "/v1/responses") return responses;
      if (path === "/v1/messages") return messages;
      if (path === "/generate") return vllmGenerate;
      if (path === "/inference/v1/generate") return tokensGenerate;
      if (path === "/rerank" || path === "/v1/rerank" || path === "/v2/rerank") return rerank;
      if (path === "/score" || path === "/v1/score") return score;
      return undefined;
    case "sglang":
      if (get && (path === "/health" || path === "/health_generate")) return () => empty(c.res);
      if (get && path === "/get_model_info")
        return () =>
          sendJson(c.res, 200, { model_path: c.sim.models[0] ?? "model", tokenizer_path: c.sim.models[0] ?? "model", is_generation: true });
      if (get && path === "/v1/models") return modelList;
      if (!post) return undefined;
      if (path === "/generate") return sglangGenerate;
      if (path === "/v1/chat/completions") return (x) => chat(x, false);
      if (path === "/v1/completions") return (x) => completions(x, false);
      if (path === "/v1/embeddings") return (x) => embeddings(x, false);
      return undefined;
    case "tgi":
      if (get && path === "/health") return () => empty(c.res);
      if (get && path === "/info")
        return () =>
          sendJson(c.res, 200, {
            model_id: c.sim.models[0] ?? "model",
            model_dtype: "torch.float16",
            max_input_tokens: 4095,
            max_total_tokens: 4096,
            router: "text-generation-router",
            version: "3.3.0",
          });
      if (get && path === "/v1/models") return modelList;
      if (!post) return undefined;
      if (path === "/generate") return (x) => tgiGenerate(x, "generate");
      if (path === "/generate_stream") return (x) => tgiGenerate(x, "stream");
      if (path === "/") return (x) => tgiGenerate(x, "compat");
      if (path === "/v1/chat/completions") return (x) => chat(x, false);
      if (path === "/v1/completions") return (x) => completions(x, false);
      return undefined;
    case "triton":
      return kserveV2(c);
    case "kserve": {
      // KServe's Python model server: v1 and v2 REST; its Hugging Face runtime adds OpenAI routes under /openai.
      if (get && path === "/openai/v1/models") return modelList;
      if (post && path === "/openai/v1/chat/completions") return (x) => chat(x);
      if (post && path === "/openai/v1/completions") return (x) => completions(x);
      if (post && path === "/openai/v1/embeddings") return (x) => embeddings(x);
      return v1Models(c) ?? kserveV2(c);
    }
    case "tfserving":
      return v1Models(c);
    case "torchserve":
      return torchserve(c);
  }
}

/** Every route an engine answers, for docs and tests: [method, path example]. */
export const ENGINE_ROUTES: Record<Engine, Array<[string, string]>> = {
  vllm: [
    ["POST", "/v1/chat/completions"],
    ["POST", "/v1/completions"],
    ["POST", "/v1/embeddings"],
    ["POST", "/v1/responses"],
    ["POST", "/v1/messages"],
    ["POST", "/generate"],
    ["POST", "/inference/v1/generate"],
    ["POST", "/rerank"],
    ["POST", "/v1/rerank"],
    ["POST", "/v2/rerank"],
    ["POST", "/score"],
    ["POST", "/v1/score"],
    ["GET", "/v1/models"],
    ["GET", "/health"],
    ["GET", "/metrics"],
  ],
  sglang: [
    ["POST", "/generate"],
    ["POST", "/v1/chat/completions"],
    ["POST", "/v1/completions"],
    ["POST", "/v1/embeddings"],
    ["GET", "/get_model_info"],
    ["GET", "/v1/models"],
    ["GET", "/health"],
    ["GET", "/metrics"],
  ],
  tgi: [
    ["POST", "/generate"],
    ["POST", "/generate_stream"],
    ["POST", "/"],
    ["POST", "/v1/chat/completions"],
    ["POST", "/v1/completions"],
    ["GET", "/v1/models"],
    ["GET", "/info"],
    ["GET", "/health"],
    ["GET", "/metrics"],
  ],
  triton: [
    ["POST", "/v2/models/{m}/infer"],
    ["POST", "/v2/models/{m}/versions/1/infer"],
    ["POST", "/v2/models/{m}/generate"],
    ["POST", "/v2/models/{m}/generate_stream"],
    ["GET", "/v2/models/{m}"],
    ["GET", "/v2/models/{m}/ready"],
    ["POST", "/v2/repository/index"],
    ["GET", "/v2"],
    ["GET", "/v2/health/ready"],
    ["GET", "/metrics"],
  ],
  kserve: [
    ["POST", "/v1/models/{m}:predict"],
    ["POST", "/v1/models/{m}:explain"],
    ["GET", "/v1/models/{m}"],
    ["GET", "/v1/models"],
    ["POST", "/v2/models/{m}/infer"],
    ["POST", "/v2/models/{m}/versions/1/infer"],
    ["POST", "/v2/models/{m}/generate"],
    ["POST", "/v2/models/{m}/generate_stream"],
    ["GET", "/v2/models/{m}"],
    ["GET", "/v2/models/{m}/ready"],
    ["POST", "/v2/repository/index"],
    ["POST", "/openai/v1/chat/completions"],
    ["POST", "/openai/v1/completions"],
    ["POST", "/openai/v1/embeddings"],
    ["GET", "/openai/v1/models"],
    ["GET", "/"],
  ],
  // (every route of the README's "Try it" table is in these lists; test/sim/engines.test.ts calls each one)
  torchserve: [
    ["POST", "/predictions/{m}"],
    ["POST", "/predictions/{m}/1.0"],
    ["PUT", "/predictions/{m}"],
    ["POST", "/explanations/{m}"],
    ["GET", "/ping"],
  ],
  tfserving: [
    ["POST", "/v1/models/{m}:predict"],
    ["POST", "/v1/models/{m}/versions/1:predict"],
    ["POST", "/v1/models/{m}/labels/stable:predict"],
    ["POST", "/v1/models/{m}:classify"],
    ["POST", "/v1/models/{m}:regress"],
    ["GET", "/v1/models/{m}"],
    ["GET", "/v1/models/{m}/metadata"],
  ],
};
