// The fuzzing engine: runs generated cases through build/inference-router.wasm in the proxy-wasm host and checks
// the filter's safety invariants after every step. Shared by the fast subset in `npm test` (test/fuzz/*.test.ts)
// and the long run (`npm run fuzz`, scripts/fuzz.mjs, which compiles this file with tsc).
//
// Invariants (a violation throws; fast-check then reports the seed, the path and a shrunk counterexample):
//  I1 no trap: no worker VM failed, no critical log line, no reload (proxies run FAIL_RELOAD so a trap in one case
//     cannot poison the next: a failed VM is replaced at the next stream, after the violation has been reported);
//  I2 no spoof: at the router each owned header (steering and classification, as configured) appears at most once,
//     never carries a client's marked value, and is absent for requests that cannot be inference;
//  I3 steering from the catalog: a pool value is a configured pool, an endpoint list holds configured endpoints
//     only, without repeats, and the pick belongs to a pool serving the classified model (or its fallbacks);
//  I4 classification encoded: protocol from the documented list, class from the documented list, model (and
//     version, label) in the lossless header encoding (visible ASCII, %XX for other bytes and for % " \ ,) that
//     decodes to valid UTF-8 of at most 256 bytes; priority an integer in [-100, 100] that is the client's (only
//     when priorityIn is configured, the mTLS peer is trusted and the value valid) or the model's default;
//  I7 parse like the server (issue 12): a JSON body the filter saw whole names the pool's model exactly as
//     JSON.parse reads it (last duplicate wins) and a body JSON.parse refuses for trailing data is never routed
//     on; a look-alike name never reaches a pool for the name it imitates; foreign steering headers
//     (headers.stripInbound) never reach the router; no 413 from holding the body under the configured limit;
//  I5 progress: each request reaches the router or gets a local reply (404/429/503 with a JSON body, or gRPC
//     status) — after the clock passes body.timeoutMs at the latest; a request the client finished reaches the
//     router whole (body bytes and trailers unchanged);
//  I6 configuration: the filter accepts a configuration iff zod (PluginConfigSchema) does; a rejection is one log
//     line `configuration rejected: <path>: <reason>` naming a path zod reports (createProxy throws).
import fc from "fast-check";
import { createProxy, HeaderMap, HostError, VirtualClock, type HttpStream, type Proxy } from "../../src/host/index.js";
import { FOREIGN_STEERING_HEADERS, PluginConfigSchema, type PluginConfig } from "../../src/config/plugin-config.js";
import {
  calloutArb,
  catalogConfigArb,
  configCaseArb,
  DEFAULT_HEADERS,
  NON_INFERENCE_PATHS,
  NON_POST_METHODS,
  requestArb,
  responseArb,
  Rng,
  SPOOF_MARK,
  type CalloutPlan,
  type ConfigCase,
  type RequestCase,
  type ResponsePlan,
} from "./arbitraries.js";

export const PROTOCOLS = new Set([
  "openai-chat",
  "openai-completions",
  "openai-embeddings",
  "openai-responses",
  "vllm-generate",
  "kserve-v1",
  "oip-infer",
  "oip-generate",
  "oip-generate-stream",
  "kserve-v2-grpc",
  "tfserving-predict",
  "tfserving-classify",
  "tfserving-regress",
  "torchserve",
  "tgi-generate",
  "tgi-generate-stream",
  "sglang-generate",
  "vllm-generate-tokens",
  "vllm-score",
  "vllm-rerank",
  "vllm-pooling",
  "vllm-classify",
  "openai-transcriptions",
  "openai-translations",
  "anthropic-messages",
  "torchserve-grpc",
]);
export const CLASSES = new Set(["generate-stream", "generate", "embed", "predict"]);
const LOCAL_STATUSES = new Set([404, 429, 503]);

export class Violation extends Error {
  constructor(
    readonly invariant: string,
    message: string,
  ) {
    super(`${invariant}: ${message}`);
    this.name = "Violation";
  }
}

export type Counters = Record<string, number>;
export function bump(c: Counters, k: string, n = 1): void {
  c[k] = (c[k] ?? 0) + n;
}
export function mergeCounters(into: Counters, from: Counters): void {
  for (const [k, v] of Object.entries(from)) bump(into, k, v);
}

/** The lossless header encoding of assembly/router/steer.ts (encodeHeaderValue): %XX for bytes outside 0x21-0x7E
 *  and for % " \ , — an independent implementation for the oracle. */
export function sanitize(v: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(v)) {
    const safe = b >= 0x21 && b <= 0x7e && b !== 0x25 && b !== 0x22 && b !== 0x5c && b !== 0x2c;
    out += safe ? String.fromCharCode(b) : "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}
const ENCODED = /^(?:[\x21\x23\x24\x26-\x2b\x2d-\x5b\x5d-\x7e]|%[0-9A-F]{2})+$/;
/** The name an encoded header value stands for, or undefined when it is not valid UTF-8. */
function decodeHeaderValue(v: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < v.length; i++) {
    if (v[i] === "%") {
      bytes.push(parseInt(v.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(v.charCodeAt(i));
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------------------------ proxies

/** A running proxy plus what the oracle needs to know about its configuration. */
export class Target {
  readonly h: PluginConfig["headers"];
  readonly owned: string[];
  readonly steeringNames: string[];
  readonly poolNames: Set<string>;
  readonly endpoints: Set<string>;
  readonly defaultPriority = new Map<string, number>();
  readonly timeoutMs: number;
  /** allow_on_headers_stop_iteration: body callbacks reach a held request. */
  allow = false;

  constructor(
    readonly proxy: Proxy,
    readonly cfg: PluginConfig,
    readonly label: string,
  ) {
    this.h = cfg.headers;
    this.owned = [this.h.protocol, this.h.model, this.h.class, this.h.priority, this.h.pool, this.h.endpoint, this.h.version, this.h.label];
    this.steeringNames = [this.h.pool, this.h.endpoint];
    this.poolNames = new Set(cfg.pools.map((p) => p.name));
    this.endpoints = new Set(cfg.pools.flatMap((p) => p.endpoints));
    for (const m of cfg.models) if (!this.defaultPriority.has(sanitize(m.name))) this.defaultPriority.set(sanitize(m.name), m.priority);
    this.timeoutMs = cfg.body.timeoutMs;
    // Every cluster the filter names exists (metrics polling): callouts then wait in proxy.callouts.pending.
    (proxy.clusters as Set<string>).has = () => true;
  }

  /** Pools that may carry a request for this (sanitised) model: those serving it, then their fallbacks. */
  poolsFor(modelHeader: string): Set<string> {
    const out = new Set<string>();
    for (const p of this.cfg.pools) {
      if (p.models.some((m) => sanitize(m) === modelHeader) || p.modelPrefixes.some((x) => modelHeader.startsWith(sanitize(x))))
        out.add(p.name);
    }
    for (let grew = true; grew;) {
      grew = false;
      for (const p of this.cfg.pools)
        if (out.has(p.name) && p.fallback && !out.has(p.fallback)) {
          out.add(p.fallback);
          grew = true;
        }
    }
    return out;
  }
}

export async function makeTarget(
  wasm: Uint8Array,
  config: Record<string, unknown>,
  opts: { workers: number; allow: boolean; logLevel?: "info" | "debug"; label: string },
): Promise<Target> {
  // The host enforces Envoy's buffer limit as configured for the filter (or Envoy's default): a 413 fails I5.
  const limit = ((config.body as Record<string, unknown> | undefined)?.bufferLimitBytes as number | undefined) ?? 1_048_576;
  const proxy = await createProxy({
    wasm,
    pluginConfig: config,
    workers: opts.workers,
    clock: new VirtualClock(1_700_000_000_000),
    allowOnHeadersStopIteration: opts.allow,
    failurePolicy: "FAIL_RELOAD",
    reloadBackoffMs: 0,
    logLevel: opts.logLevel ?? "info",
    bufferLimitBytes: limit,
  });
  const t = new Target(proxy, PluginConfigSchema.parse(config), opts.label);
  t.allow = opts.allow;
  return t;
}

/**
 * A fixed set of proxies covering pool/endpoint steering × body mode on/off × allow_on_headers_stop_iteration
 * true/false, each with a generated catalog; reused across cases (creating a proxy per case is slow).
 */
export async function makeTargets(wasm: Uint8Array, seed: number, count = 8): Promise<Target[]> {
  const configs = fc.sample(catalogConfigArb(), { seed, numRuns: count });
  const out: Target[] = [];
  for (let i = 0; i < count; i++) {
    const c = configs[i]!;
    c.steering = i % 2 === 0 ? "pool" : "endpoint";
    (c.body as Record<string, unknown>).enabled = (i >> 1) % 2 === 0;
    // Prefix affinity needs body mode (a cross-field rule): keep the two consistent after the toggle above.
    const prefix = (c.affinity as { prefix?: { enabled?: boolean } } | undefined)?.prefix;
    if (prefix?.enabled && (i >> 1) % 2 !== 0) prefix.enabled = false;
    const allow = (i >> 2) % 2 === 0;
    out.push(
      await makeTarget(wasm, c, {
        workers: 2,
        allow,
        logLevel: i % 8 === 3 ? "debug" : "info",
        label: `target ${i} (seed ${seed}, allow ${allow})`,
      }),
    );
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ one stream

interface Run {
  rc: RequestCase;
  s: HttpStream;
  steps: Array<() => void>;
  sentBody: Uint8Array;
  eos: boolean;
  headers: HeaderMap;
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function buildHeaders(t: Target, rc: RequestCase): HeaderMap {
  const h = new HeaderMap([
    [":method", rc.method],
    [":path", rc.path],
    [":authority", rc.authority],
    [":scheme", "http"],
  ]);
  if (rc.contentType !== undefined) h.add("content-type", rc.contentType);
  if (rc.contentLength !== undefined) h.add("content-length", rc.contentLength);
  for (const [k, v] of rc.headers) h.add(k, v);
  if (rc.spoof) {
    const names = new Set(t.owned);
    if (rc.spoof.defaults) for (const n of Object.values(DEFAULT_HEADERS)) names.add(n);
    let i = 0;
    for (const n of names)
      for (let c = 0; c < rc.spoof.copies; c++) h.add(c % 3 === 1 ? n.toUpperCase() : n, rc.spoof.values[i++ % rc.spoof.values.length]!);
  }
  if (rc.modelOverride !== undefined && t.h.modelOverride) h.add(t.h.modelOverride, rc.modelOverride);
  if (rc.priorityIn !== undefined && t.h.priorityIn) h.add(t.h.priorityIn, rc.priorityIn);
  if (rc.foreign) for (const n of [...FOREIGN_STEERING_HEADERS, ...t.h.stripInbound]) h.add(n, `10.6.6.6:1${SPOOF_MARK}`);
  return h;
}

function planStream(t: Target, rc: RequestCase, worker: number, c: Counters): Run {
  const s = t.proxy.newStream(worker);
  s.peerUriSan = rc.peer;
  const headers = buildHeaders(t, rc);
  const body = rc.body ?? new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  if (body.length) {
    if (rc.splits.length === 1 && rc.splits[0] === -1 && body.length <= 64)
      for (let i = 0; i < body.length; i++) chunks.push(body.subarray(i, i + 1));
    else {
      const cuts = [...new Set(rc.splits.map((f) => Math.floor(Math.max(0, f) * body.length)))].sort((a, b) => a - b);
      let prev = 0;
      for (const cut of [...cuts, body.length]) {
        if (cut > prev || (rc.emptyChunks && cut === prev)) chunks.push(body.subarray(prev, cut));
        prev = cut;
      }
    }
  }
  const trailers = rc.trailers && !rc.noEos ? rc.trailers : undefined;
  const eos = !rc.noEos;
  const steps: Array<() => void> = [];
  steps.push(() => s.sendRequestHeaders(headers, eos && chunks.length === 0 && !trailers));
  chunks.forEach((ch, i) => steps.push(() => s.sendRequestBody(ch, eos && i === chunks.length - 1 && !trailers)));
  if (trailers) steps.push(() => s.sendRequestTrailers(trailers));
  bump(c, "streams");
  if (rc.spoof) bump(c, "streams.spoofed");
  if (chunks.length > 1) bump(c, "streams.chunked");
  if (rc.noEos) bump(c, "streams.client_never_ends");
  return { rc, s, steps, sentBody: concatBytes(chunks), eos, headers };
}

// ------------------------------------------------------------------------------------------------ invariants

function fail(inv: string, t: Target, msg: string): never {
  throw new Violation(inv, `${msg}\n  on ${t.label}\n  config ${JSON.stringify(t.cfg).slice(0, 2000)}`);
}

function cannotBeInference(rc: RequestCase): boolean {
  const path = rc.path.split(/[?#]/)[0]!;
  // TorchServe takes any method; SGLang's /generate takes PUT.
  if (/^\/(predictions|explanations)\//.test(path) || (rc.method === "PUT" && path === "/generate")) return false;
  return NON_POST_METHODS.includes(rc.method) || NON_INFERENCE_PATHS.includes(path);
}

/** Whether the request's peer may set modelOverride / priorityIn (trust.ts: exact principal or ns:<namespace>). */
function peerTrusted(t: Target, peer: string | undefined): boolean {
  if (!peer) return false;
  const ns = /^spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/[^/]+$/.exec(peer)?.[1];
  return t.h.trustedPeers.some((e) => e === peer || (ns !== undefined && e === `ns:${ns}`));
}

function validPriority(v: string): number | undefined {
  const m = /^[+-]?(\d{1,3})$/.exec(v);
  if (!m) return undefined;
  const n = Number(m[1]);
  if (n > 100) return undefined;
  return v.startsWith("-") ? -n || 0 : n;
}

/** I2, I3, I4 on what reached the router. */
function checkRouterHeaders(t: Target, r: Run, c: Counters): void {
  const rh = r.s.routerRequestHeaders!;
  const desc = () =>
    `request ${JSON.stringify(r.rc.method)} ${JSON.stringify(r.rc.path).slice(0, 300)}; router headers ${JSON.stringify(rh.entries().filter(([k]) => t.owned.includes(k))).slice(0, 1500)}`;
  for (const name of t.owned) {
    const all = rh.getAll(name);
    if (all.length > 1) fail("I2 spoof", t, `${all.length} copies of ${name} at the router; ${desc()}`);
    if (all.length === 1 && all[0]!.includes(SPOOF_MARK)) fail("I2 spoof", t, `client value of ${name} reached the router; ${desc()}`);
  }
  // I7: foreign steering headers never reach the router (stripped on every request).
  // (A name the filter itself writes is checked by I2 instead: configs may reuse one.)
  for (const name of t.h.stripInbound)
    if (!t.owned.includes(name) && rh.get(name) !== undefined) fail("I7 foreign", t, `${name} reached the router; ${desc()}`);
  if (r.rc.foreign) bump(c, "check.foreign_stripped");
  const proto = rh.get(t.h.protocol),
    model = rh.get(t.h.model),
    klass = rh.get(t.h.class),
    prio = rh.get(t.h.priority);
  const pool = t.cfg.steering === "pool" ? rh.get(t.h.pool) : undefined;
  const ep = rh.get(t.h.endpoint);
  const otherSteer = t.cfg.steering === "pool" ? ep : rh.get(t.h.pool);
  if (otherSteer !== undefined && t.h.pool !== t.h.endpoint) fail("I2 spoof", t, `steering header of the other mode present; ${desc()}`);
  if (cannotBeInference(r.rc)) {
    for (const name of t.owned)
      if (rh.get(name) !== undefined) fail("I2 spoof", t, `${name} present on a request that cannot be inference; ${desc()}`);
    bump(c, "check.non_inference_clean");
    return;
  }
  // I4: classification values.
  if (proto !== undefined && !PROTOCOLS.has(proto)) fail("I4 classification", t, `protocol ${JSON.stringify(proto)}; ${desc()}`);
  if (klass !== undefined && !CLASSES.has(klass)) fail("I4 classification", t, `class ${JSON.stringify(klass)}; ${desc()}`);
  for (const [what, v] of [
    ["model", model],
    ["version", rh.get(t.h.version)],
    ["label", rh.get(t.h.label)],
  ] as const) {
    if (v === undefined) continue;
    const name = ENCODED.test(v) ? decodeHeaderValue(v) : undefined;
    if (name === undefined || new TextEncoder().encode(name).length > 256 || sanitize(name) !== v)
      fail("I4 classification", t, `${what} not in the lossless encoding ${JSON.stringify(v).slice(0, 300)}; ${desc()}`);
  }
  const trusted = peerTrusted(t, r.rc.peer);
  if (prio !== undefined) {
    if (!/^(0|-?[1-9]\d{0,2})$/.test(prio) || Math.abs(Number(prio)) > 100)
      fail("I4 classification", t, `priority ${JSON.stringify(prio)}; ${desc()}`);
    const allowed = new Set<number>([t.defaultPriority.get(model ?? "") ?? 0]);
    if (t.h.priorityIn && trusted)
      for (const v of r.headers.getAll(t.h.priorityIn)) {
        const p = validPriority(v);
        if (p !== undefined) allowed.add(p);
      }
    if (!allowed.has(Number(prio)))
      fail("I4 classification", t, `priority ${prio} is neither the model's default nor a valid client value (${[...allowed]}); ${desc()}`);
  }
  if (proto !== undefined) bump(c, "check.classified");
  if (model !== undefined) bump(c, "check.model_written");
  checkParsedLikeServer(t, r, proto, model, trusted, c, desc);
  // I3: steering values from the catalog, consistent with the classification.
  if (pool !== undefined || (t.cfg.steering === "endpoint" && ep !== undefined)) {
    if (proto === undefined || model === undefined) fail("I3 steering", t, `steered without a classification; ${desc()}`);
    const pools = t.poolsFor(model!);
    if (pool !== undefined) {
      if (!t.poolNames.has(pool)) fail("I3 steering", t, `pool ${JSON.stringify(pool)} not in the catalog; ${desc()}`);
      if (!pools.has(pool)) fail("I3 steering", t, `pool ${pool} does not serve ${model} (nor is a fallback); ${desc()}`);
      bump(c, "check.steered_pool");
    } else {
      const parts = ep!.split(",");
      if (new Set(parts).size !== parts.length) {
        // The same ip:port configured in two pools is two upstreams to the filter; anything else is a bug.
        const dup = parts.find((e, i) => parts.indexOf(e) !== i)!;
        if (t.cfg.pools.filter((p) => p.endpoints.includes(dup)).length < 2) fail("I3 steering", t, `repeated endpoint; ${desc()}`);
        bump(c, "note.endpoint_repeated_across_pools");
      }
      for (const e of parts) if (!t.endpoints.has(e)) fail("I3 steering", t, `endpoint ${JSON.stringify(e)} not in the catalog; ${desc()}`);
      const first = new Set(t.cfg.pools.filter((p) => pools.has(p.name)).flatMap((p) => p.endpoints));
      if (!first.has(parts[0]!))
        fail("I3 steering", t, `picked endpoint ${parts[0]} is not a member of a pool serving ${model}; ${desc()}`);
      bump(c, "check.steered_endpoint");
    }
  }
}

/** The JSON body protocol a request's path stands for (OpenAI-style paths only; "" otherwise). */
function protoOf(rc: RequestCase): string {
  const path = rc.path.split(/[?#]/)[0]!.replace(/^\/openai(?=\/v1\/)/, "");
  if (rc.method !== "POST") return "";
  return (
    (
      {
        "/v1/chat/completions": "openai-chat",
        "/v1/completions": "openai-completions",
        "/v1/embeddings": "openai-embeddings",
        "/v1/responses": "openai-responses",
        "/v1/messages": "anthropic-messages",
        "/inference/v1/generate": "vllm-generate-tokens",
        "/score": "vllm-score",
        "/v1/score": "vllm-score",
        "/rerank": "vllm-rerank",
        "/v1/rerank": "vllm-rerank",
        "/v2/rerank": "vllm-rerank",
        "/pooling": "vllm-pooling",
        "/classify": "vllm-classify",
      } as Record<string, string>
    )[path] ?? ""
  );
}

const JSON_BODY_PROTOCOLS = new Set([
  "openai-chat",
  "openai-completions",
  "openai-embeddings",
  "openai-responses",
  "vllm-generate",
  "vllm-generate-tokens",
  "vllm-score",
  "vllm-rerank",
  "vllm-pooling",
  "vllm-classify",
  "anthropic-messages",
  "sglang-generate",
  "tgi-generate",
]);

/** Index after the first top-level JSON object of `text` (string-aware brace matching), or -1. */
function firstObjectEnd(text: string): number {
  let depth = 0,
    inStr = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inStr) {
      if (ch === "\\") i++;
      else if (ch === '"') inStr = false;
      continue;
    }
    if (ch === '"') inStr = true;
    else if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

function maxDepth(text: string): number {
  let d = 0,
    m = 0,
    inStr = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inStr) {
      if (ch === "\\") i++;
      else if (ch === '"') inStr = false;
      continue;
    }
    if (ch === '"') inStr = true;
    else if (ch === "{" || ch === "[") m = Math.max(m, ++d);
    else if (ch === "}" || ch === "]") d--;
  }
  return m;
}

/** A model value the filter accepts: well-formed UTF-16 (so UTF-8), 1..256 bytes, no C0 or DEL. */
function acceptableName(v: unknown): v is string {
  if (typeof v !== "string" || v.length === 0 || /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v))
    return false;
  if (new TextEncoder().encode(v).length > 256) return false;
  return !/[\x00-\x1f\x7f]/.test(v);
}

/**
 * I7: when the filter saw a JSON body whole, its model is the one the server's parser reads (JSON.parse, like
 * Python's json, keeps the last duplicate), and a body followed by anything but whitespace is never routed on.
 */
function checkParsedLikeServer(
  t: Target,
  r: Run,
  proto: string | undefined,
  model: string | undefined,
  trusted: boolean,
  c: Counters,
  desc: () => string,
): void {
  const rc = r.rc;
  if (!proto || !JSON_BODY_PROTOCOLS.has(proto) || !rc.body) return;
  if (!t.allow || !t.cfg.body.enabled || !r.eos) {
    bump(c, "i7.skip.no_body_mode");
    return;
  }
  if (rc.body.length > Math.min(t.cfg.body.maxBytes, t.cfg.body.bufferLimitBytes)) {
    bump(c, "i7.skip.past_limit");
    return;
  }
  if (trusted && t.h.modelOverride && rc.modelOverride !== undefined) return;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(rc.body);
  } catch {
    bump(c, "i7.skip.not_utf8");
    return;
  }
  if (maxDepth(text) >= 64) {
    bump(c, "i7.skip.deep");
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const end = firstObjectEnd(text);
    if (end < 0) return;
    try {
      JSON.parse(text.slice(0, end));
    } catch {
      return;
    }
    if (/^\s*$/.test(text.slice(end))) return;
    if (model !== undefined) fail("I7 parse", t, `routed on a body with trailing data; ${desc()}`);
    bump(c, "check.trailing_refused");
    return;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return;
  const want = (parsed as Record<string, unknown>).model;
  if (acceptableName(want)) {
    if (model === undefined || decodeHeaderValue(model) !== want)
      fail("I7 parse", t, `model ${JSON.stringify(model)} but the server reads ${JSON.stringify(want)}; ${desc()}`);
    bump(c, "check.model_as_server");
  } else if (model !== undefined)
    fail("I7 parse", t, `model ${JSON.stringify(model)} but the server reads none (${JSON.stringify(want)?.slice(0, 80)}); ${desc()}`);
}

function checkLocalReply(t: Target, r: Run, c: Counters): void {
  const lr = r.s.localReply!;
  if (!LOCAL_STATUSES.has(lr.status) || !lr.details.startsWith("inference_router_"))
    fail("I5 progress", t, `local reply ${lr.status} (${lr.details}) for ${JSON.stringify(r.rc.path).slice(0, 200)}`);
  if (lr.status === 404 && t.cfg.unknownModel !== "reject") fail("I5 progress", t, "404 with unknownModel passthrough");
  if (lr.body.length) {
    let msg = "";
    try {
      msg = (JSON.parse(lr.body) as { error: { message: string } }).error.message;
    } catch {
      fail("I5 progress", t, `local reply body is not JSON: ${JSON.stringify(lr.body).slice(0, 300)}`);
    }
    // The 404 names the (encoded) model it read: I4 and I7 apply to it too.
    const m = lr.status === 404 ? /^model '(.*)' is not served here$/.exec(msg) : null;
    if (m && !m[1]!.includes("'")) {
      const proto = JSON_BODY_PROTOCOLS.has(protoOf(r.rc)) ? protoOf(r.rc) : undefined;
      checkParsedLikeServer(
        t,
        r,
        proto,
        m[1],
        peerTrusted(t, r.rc.peer),
        c,
        () => `404 for ${JSON.stringify(r.rc.path).slice(0, 200)}: ${msg.slice(0, 300)}`,
      );
    }
  }
  bump(c, `reply.${lr.status}`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function routerBodyBytes(s: HttpStream): Uint8Array {
  return concatBytes((s as unknown as { request: { outBody: Uint8Array[] } }).request.outBody);
}

/** I1: no VM failed, no critical line, no reload; clears the log book (it would grow over a long run). */
export function checkHealth(t: Target, c: Counters, what: () => string): void {
  const p = t.proxy;
  const crit = p.logs.atLevel("critical");
  const failed = p.workers.filter((w) => w.failed || w.reloads > 0);
  if (failed.length || crit.length) {
    const why = failed.map((w) => `worker ${w.index}: ${w.vm.failure ?? "reloaded"}`).join("; ");
    const msg = `${why} ${crit.map((l) => l.message).join(" | ")}\n  ${what()}`;
    for (const w of p.workers) w.reloads = 0;
    p.logs.clear();
    fail("I1 trap", t, msg);
  }
  for (const l of p.logs) bump(c, `log.${l.level}`);
  p.logs.clear();
}

// ------------------------------------------------------------------------------------------------ a case

export interface StreamSpec {
  req: RequestCase;
  resp: ResponsePlan;
  worker: number;
}
export interface RequestCaseSpec {
  target: number;
  streams: StreamSpec[];
  scheduleSeed: number;
  advanceAfterMs: number;
  callouts: CalloutPlan[];
}

export function requestCaseArb(targets: number): fc.Arbitrary<RequestCaseSpec> {
  return fc.record({
    target: fc.nat(targets - 1),
    streams: fc.array(fc.record({ req: requestArb, resp: responseArb, worker: fc.nat(1) }), { minLength: 1, maxLength: 3 }),
    scheduleSeed: fc.integer(),
    // Time passing between cases: ticks, heartbeats, ejections ending (configs eject for 0.1-8 s), reports going
    // stale. Long jumps are rare: with a 10 ms tick period every simulated second costs 100 VM calls per worker.
    advanceAfterMs: fc.oneof(
      { weight: 16, arbitrary: fc.constant(0) },
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 1200 }) },
      { weight: 1, arbitrary: fc.constantFrom(5000, 9000) },
    ),
    callouts: fc.array(calloutArb, { maxLength: 3 }),
  });
}

/** Answers every pending callout (metrics polls, once the filter makes them) per the plans; trims the record. */
export function answerCallouts(t: Target, plans: CalloutPlan[], c: Counters, rng?: Rng): void {
  const cs = t.proxy.callouts;
  let i = 0;
  for (const call of cs.pending) {
    const plan = plans.length ? plans[i++ % plans.length]! : undefined;
    bump(c, "callouts.seen");
    if (!plan || plan.kind === "metrics") call.respond({ status: 200, body: plan?.body ?? "", headers: plan?.headers ?? [] });
    else if (plan.kind === "fail") call.fail();
    else if (plan.kind === "status") call.respond({ status: plan.status, body: plan.body });
    else if (rng && rng.next() < 0.5)
      continue; // left to time out
    else call.respond({ status: 200, body: plan.body });
    bump(c, `callouts.${plan?.kind ?? "metrics"}`);
  }
  if (cs.all.length > 256) {
    const keep = cs.all.filter((x) => !x.settled);
    cs.all.length = 0;
    cs.all.push(...keep);
  }
}

function sendResponse(r: Run, plan: ResponsePlan, c: Counters): void {
  const s = r.s;
  if (plan.kind === "reset") {
    s.reset();
    bump(c, "resp.reset");
    return;
  }
  if (plan.kind === "none") {
    bump(c, "resp.none");
    return;
  }
  const h = new HeaderMap([[":status", plan.status], ...plan.headers]);
  const hasBody = plan.body !== undefined && plan.body.length > 0;
  s.sendResponseHeaders(h, !hasBody && !plan.trailers);
  if (hasBody) s.sendResponseBody(plan.body!, !plan.trailers);
  if (plan.trailers) s.sendResponseTrailers({ "grpc-status": "0" });
  bump(c, `resp.${plan.status.startsWith("5") && plan.status.length === 3 ? "5xx" : "other"}`);
  if (plan.headers.some(([k]) => k === "endpoint-load-metrics")) bump(c, "resp.orca");
}

/** Runs one generated case on its target and checks every invariant. */
export function runRequestCase(targets: Target[], spec: RequestCaseSpec, c: Counters): void {
  const t = targets[spec.target]!;
  const p = t.proxy;
  const what = () =>
    `case ${JSON.stringify(spec, (_k, v) => (v instanceof Uint8Array ? `<${v.length} bytes>` : typeof v === "string" && v.length > 200 ? v.slice(0, 200) + `…(${v.length})` : v)).slice(0, 4000)}`;
  bump(c, "cases");
  const runs = spec.streams.map((st) => planStream(t, st.req, st.worker % p.workers.length, c));
  // Interleave the request steps of the streams.
  const rng = new Rng(spec.scheduleSeed);
  const cursors = runs.map(() => 0);
  for (let left = runs.reduce((n, r) => n + r.steps.length, 0); left > 0; left--) {
    const live = runs.map((_, i) => i).filter((i) => cursors[i]! < runs[i]!.steps.length);
    const i = live[rng.nextInt(0, live.length - 1)]!;
    runs[i]!.steps[cursors[i]!++]!();
  }
  checkHealth(t, c, what);
  // I5: nothing stalls. A request still held gets released once the clock passes body.timeoutMs.
  const waiting = () =>
    runs.filter((r) => !r.s.failed && !r.s.localReply && (!r.s.reachedRouter || (r.eos && !r.s.requestCompleteAtRouter)));
  if (waiting().length) {
    bump(c, "streams.released_by_tick", waiting().length);
    p.advance(t.timeoutMs + 1100);
    checkHealth(t, c, what);
    const still = waiting();
    if (still.length)
      fail(
        "I5 progress",
        t,
        `stalled: ${still.map((r) => `reached=${r.s.reachedRouter} complete=${r.s.requestCompleteAtRouter} paused=${JSON.stringify(r.s.paused)}`).join("; ")}\n  ${what()}`,
      );
  }
  for (const r of runs) {
    if (r.s.failed) fail("I1 trap", t, `stream failed by the host\n  ${what()}`);
    if (r.s.localReply) {
      checkLocalReply(t, r, c);
      continue;
    }
    checkRouterHeaders(t, r, c);
    bump(c, "reached_router");
    if (r.eos && r.s.requestCompleteAtRouter) {
      if (!sameBytes(routerBodyBytes(r.s), r.sentBody))
        fail(
          "I5 progress",
          t,
          `body changed on the way to the router (${routerBodyBytes(r.s).length} vs ${r.sentBody.length} bytes)\n  ${what()}`,
        );
      bump(c, "check.body_intact");
    }
  }
  // Responses (upstream answers, resets, nothing) in a random order, then the streams end.
  const order = runs.map((_, i) => i).sort(() => rng.next() - 0.5);
  for (const i of order) {
    const r = runs[i]!;
    if (!r.s.localReply && r.s.reachedRouter) sendResponse(r, spec.streams[i]!.resp, c);
    r.s.complete();
  }
  answerCallouts(t, spec.callouts, c, rng);
  if (spec.advanceAfterMs) p.advance(spec.advanceAfterMs);
  answerCallouts(t, spec.callouts, c, rng);
  checkHealth(t, c, what);
}

// ------------------------------------------------------------------------------------------------ configurations

function displayKey(k: string): string {
  if (k === "") return '""';
  let out = "";
  for (let i = 0; i < Math.min(k.length, 64); i++) {
    const ch = k.charCodeAt(i);
    out += ch >= 0x20 && ch <= 0x7e ? k[i] : "?";
  }
  return out + (k.length > 64 ? "..." : "");
}

function fmtPath(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s;
}

/** zod's verdict on a config text, with every path it reports (same mapping as test/units/config.test.ts). */
export function zodVerdict(text: string): { json: boolean; ok: boolean; paths: string[]; data?: PluginConfig } {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch {
    return { json: false, ok: false, paths: [] };
  }
  const r = PluginConfigSchema.safeParse(input);
  if (r.success) return { json: true, ok: true, paths: [], data: r.data };
  const paths: string[] = [];
  for (const iss of r.error.issues) {
    const base = fmtPath(iss.path);
    if (iss.code === "unrecognized_keys") for (const k of iss.keys) paths.push(base ? `${base}.${displayKey(k)}` : displayKey(k));
    else paths.push(base || "(root)");
  }
  return { json: true, ok: false, paths };
}

export interface ConfigCaseSpec {
  config: ConfigCase;
  probe: RequestCase;
  resp: ResponsePlan;
}

export function configCaseSpecArb(): fc.Arbitrary<ConfigCaseSpec> {
  return fc.record({ config: configCaseArb(), probe: requestArb, resp: responseArb });
}

const utf8Strict = new TextDecoder("utf-8", { fatal: true });
const utf8Loose = new TextDecoder();

/** I6 for one configuration, then (if accepted) one probe request with I1-I5. */
export async function runConfigCase(wasm: Uint8Array, spec: ConfigCaseSpec, c: Counters): Promise<void> {
  const raw = spec.config.text;
  let text: string;
  let strictText = true;
  if (typeof raw === "string") text = raw;
  else {
    try {
      text = utf8Strict.decode(raw);
    } catch {
      text = utf8Loose.decode(raw);
      strictText = false;
    }
  }
  const z = zodVerdict(text);
  bump(c, "configs");
  if (!strictText) {
    // KNOWN BUG (reported, see docs/reliability.md "Findings"): the filter decodes the configuration with
    // AssemblyScript's lax UTF-8 decoder (String.UTF8.decodeUnsafe: no validation, overlong forms decoded, a
    // truncated trailing sequence dropped), so invalid-UTF-8 configurations can be accepted where zod (JSON.parse of
    // the WHATWG-decoded text) rejects them, and a lone 0x80 is reported as "configuration is empty". Until fixed,
    // such inputs are only checked for traps; test/fuzz/fuzz.test.ts pins the bug with it.fails.
    bump(c, "configs.invalid_utf8");
    try {
      const p = await createProxy({ wasm, pluginConfig: raw, workers: 1, clock: new VirtualClock(1_700_000_000_000) });
      bump(c, z.ok ? "configs.invalid_utf8_agrees" : "configs.invalid_utf8_accepted_against_zod");
      await p.close();
    } catch (e) {
      if (!(e instanceof HostError) || e.code !== "ConfigureFailed" || e.logs.some((l) => l.level === "critical"))
        throw new Violation("I1 trap", `invalid-UTF-8 configuration: ${String(e)}`);
      bump(c, z.ok ? "configs.invalid_utf8_rejected_against_zod" : "configs.invalid_utf8_agrees");
    }
    return;
  }
  bump(c, `configs.${spec.config.origin}`);
  let proxy: Proxy | undefined;
  let err: unknown;
  try {
    proxy = await createProxy({
      wasm,
      pluginConfig: raw,
      workers: 1,
      clock: new VirtualClock(1_700_000_000_000),
      failurePolicy: "FAIL_RELOAD",
      reloadBackoffMs: 0,
    });
  } catch (e) {
    err = e;
  }
  const show = () => `config (${spec.config.origin}) ${JSON.stringify(typeof raw === "string" ? raw : `<bytes> ${text}`).slice(0, 1500)}`;
  if (z.ok) {
    if (!proxy)
      throw new Violation(
        "I6 config",
        `zod accepts but the filter rejects: ${err instanceof HostError ? err.logs.map((l) => l.message).join(" | ") : String(err)}\n  ${show()}`,
      );
    bump(c, "configs.accepted");
    const t = new Target(proxy, z.data!, "config case");
    try {
      runRequestCase(
        [t],
        { target: 0, streams: [{ req: spec.probe, resp: spec.resp, worker: 0 }], scheduleSeed: 1, advanceAfterMs: 0, callouts: [] },
        c,
      );
      bump(c, "cases", -1); // counted as a configuration case
      bump(c, "configs.probe_requests");
    } finally {
      await proxy.close();
    }
    return;
  }
  if (proxy) {
    await proxy.close();
    throw new Violation("I6 config", `zod rejects (${z.paths.join(" | ") || "not JSON"}) but the filter accepts\n  ${show()}`);
  }
  if (!(err instanceof HostError) || err.code !== "ConfigureFailed")
    throw new Violation("I6 config", `unexpected failure ${String(err)}\n  ${show()}`);
  bump(c, "configs.rejected");
  if (err.logs.some((l) => l.level === "critical" || l.source === "host"))
    throw new Violation("I1 trap", `trap while configuring: ${err.logs.map((l) => l.message).join(" | ")}\n  ${show()}`);
  const lines = err.logs.map((l) => l.message).filter((m) => m.includes("configuration rejected: "));
  if (lines.length === 0)
    throw new Violation(
      "I6 config",
      `rejected without a 'configuration rejected' line: ${err.logs.map((l) => l.message).join(" | ")}\n  ${show()}`,
    );
  const msg = lines[0]!.slice(lines[0]!.indexOf("configuration rejected: ") + "configuration rejected: ".length);
  if (!z.json) {
    if (!(text.length === 0 ? /^configuration is empty/.test(msg) : /^\(root\): invalid JSON at /.test(msg)))
      throw new Violation("I6 config", `invalid JSON rejected with ${JSON.stringify(msg)}\n  ${show()}`);
    bump(c, "configs.rejected_invalid_json");
    return;
  }
  if (!z.paths.some((p) => msg.startsWith(`${p}: `)))
    throw new Violation(
      "I6 config",
      `rejection path not reported by zod: ${JSON.stringify(msg)}; zod: ${z.paths.join(" | ")}\n  ${show()}`,
    );
  bump(c, "configs.rejected_path_matches_zod");
}
