// Affinity: which upstream probably still holds a request's KV cache (prompt-prefix affinity) or has its LoRA
// adapter loaded (LoRA affinity). Both only *prefer* an upstream; the picker bounds the preference by load
// (picker.ts, step 5a), so a hot prefix or adapter never pins traffic to an overloaded server.
//
// Prefix table (body mode only). The prompt region of the JSON body — the value of the top-level `messages`
// (chat), `prompt` (completions) or `input` (responses, embeddings) key, as raw bytes — is cut into blocks of
// `blockBytes`, at most `blocks` of them. Block i's hash chains FNV-1a over blocks 0..i, seeded with the model
// name, so equal hashes mean equal prefixes of the same model. The table lives in shared data, so every worker
// VM shares it: `tableSize` entries in buckets of 32 (`<name>/affinity/<8 hex digits>`), each entry
//   hash u32 | upstream i32 | atMs i64        (16 bytes; hash 0 = empty)
// A bucket is a small set-associative cache: a hash found is overwritten in place, a new one replaces the
// least recently written entry. Memory is fixed (tableSize × 16 bytes); nothing grows with traffic.
// Lookup walks from the longest prefix down and returns the first hit; after a pick every block hash is
// pointed at the picked upstream (skipped when the entry already says so and was written < 1 s ago).
//
// LoRA state: the poller writes, per upstream, `<name>/lora/<pool>/<upstream>` =
//   atMs i64 | length u32 | running adapters (comma-separated, as vLLM's `vllm:lora_requests_info` reports)
// and the picker asks loraHolds() for candidates. The requested adapter is the model name, or the part after
// the last ':' for `base:adapter` names; either matching a listed adapter counts.
import { getSharedInto, setSharedRaw, sharedCas, utf8 } from "../runtime/host";
import { WasmResult } from "../runtime/abi";
import { Catalog, Upstream } from "./catalog";
import { RouterConfig } from "./config";
import { skipJsonValue, skipString, skipWs } from "./json";
import { FNV_OFFSET, fnv, fnvString } from "./hash";

const ENTRIES: i32 = 32;
const ENTRY_BYTES: i32 = 16;
const BUCKET_BYTES: i32 = ENTRIES * ENTRY_BYTES;
const CAS_TRIES: i32 = 3;
const REFRESH_MS: i64 = 1000;
export const LORA_CAP: i32 = 1024;
const LORA_HEADER: i32 = 12;

// ------------------------------------------------------------------------------------------------------------
// Finding the prompt region of a JSON body (top level only; never reads past ptr + len).

let regionStart: usize = 0;
let regionEnd: usize = 0;


/** Whether the key string at p (opening quote) is exactly `s` (ASCII, no escapes). */
function keyIs(p: usize, end: usize, s: string): bool {
  const n = <usize>s.length;
  if (p + n + 2 > end) return false;
  for (let i: usize = 0; i < n; i++) if (<u32>load<u8>(p + 1 + i) != <u32>s.charCodeAt(<i32>i)) return false;
  return load<u8>(p + 1 + n) == 0x22;
}

/** Finds the value of top-level `messages`, `prompt` or `input`; sets regionStart/End. False when none. */
export function findPromptRegion(ptr: usize, len: usize): bool {
  const end = ptr + len;
  let p = skipWs(ptr, end);
  if (p >= end || load<u8>(p) != 0x7b) return false;
  p = skipWs(p + 1, end);
  while (p < end && load<u8>(p) == 0x22) {
    const k = p;
    p = skipWs(skipString(p, end), end);
    if (p >= end || load<u8>(p) != 0x3a) return false;
    p = skipWs(p + 1, end);
    const v = p;
    p = skipJsonValue(p, end);
    if (keyIs(k, end, "messages") || keyIs(k, end, "prompt") || keyIs(k, end, "input")) {
      regionStart = v;
      regionEnd = p;
      return p > v;
    }
    p = skipWs(p, end);
    if (p >= end || load<u8>(p) != 0x2c) return false;
    p = skipWs(p + 1, end);
  }
  return false;
}

// ------------------------------------------------------------------------------------------------------------

export class Affinity {
  readonly prefixEnabled: bool;
  readonly loraEnabled: bool;
  private blockBytes: i32;
  private maxBlocks: i32;
  private buckets: u32;
  private hashes: StaticArray<u32>;
  /** Block hashes of the current request (0 = prefix affinity does not apply). */
  count: i32 = 0;
  private bucketKey: ArrayBuffer;
  private hexAt: i32;
  private buf: usize = heap.alloc(<usize>BUCKET_BYTES);
  private loraBuf: usize = 0;
  private loraKeys: Array<ArrayBuffer> = [];
  private adapterFull: ArrayBuffer = new ArrayBuffer(0);
  private adapterShort: ArrayBuffer = new ArrayBuffer(0);
  private staleAfterMs: i64;
  private now: i64 = 0;

  constructor(cfg: RouterConfig, catalog: Catalog, loraPossible: bool) {
    const pc = cfg.affinity.prefix;
    this.prefixEnabled = pc.enabled && cfg.body.enabled;
    this.loraEnabled = cfg.affinity.lora && loraPossible;
    this.blockBytes = pc.blockBytes;
    this.maxBlocks = pc.blocks;
    this.buckets = <u32>max(1, pc.tableSize / ENTRIES);
    this.hashes = new StaticArray<u32>(pc.blocks);
    const prefix = cfg.name + "/affinity/";
    this.bucketKey = utf8(prefix + "00000000");
    this.hexAt = this.bucketKey.byteLength - 8;
    this.staleAfterMs = <i64>cfg.scoring.staleAfterMs;
    if (this.loraEnabled) {
      this.loraBuf = heap.alloc(<usize>(LORA_HEADER + LORA_CAP));
      for (let i = 0; i < catalog.upstreams.length; i++) this.loraKeys.push(loraKey(cfg, catalog, catalog.upstreams[i]));
    }
  }

  /** Frees the raw-heap buffers (the root context that owned this table view is being deleted). */
  dispose(): void {
    heap.free(this.buf);
    if (this.loraBuf != 0) heap.free(this.loraBuf);
    this.buf = 0;
    this.loraBuf = 0;
  }

  // ---------------------------------------------------------------------------------------------- prefix

  /** Hashes the prompt prefix of a JSON body; returns the number of block hashes (0: nothing to match). */
  hashPrompt(ptr: usize, len: usize, model: string): i32 {
    this.count = 0;
    if (!this.prefixEnabled || !findPromptRegion(ptr, len)) return 0;
    const bb = <usize>this.blockBytes;
    const total = regionEnd - regionStart;
    let h = fnvString(FNV_OFFSET, model);
    let p = regionStart;
    let k = 0;
    while (k < this.maxBlocks && p < regionEnd) {
      const n = p + bb <= regionEnd ? bb : regionEnd - p;
      h = fnv(h, p, n);
      unchecked(this.hashes[k] = h == 0 ? 1 : h);
      k++;
      p += n;
    }
    this.count = total > 0 ? k : 0;
    return this.count;
  }

  /** Hash of the request's first prompt block (the shared system prompt): the rendezvous key; 0 when none. */
  firstBlock(): u32 {
    return this.count > 0 ? unchecked(this.hashes[0]) : 0;
  }

  private readBucket(b: u32): i32 {
    let x = b;
    for (let i = 7; i >= 0; i--) {
      const d = x & 15;
      store<u8>(changetype<usize>(this.bucketKey) + <usize>(this.hexAt + i), <u8>(d < 10 ? 48 + d : 87 + d));
      x >>= 4;
    }
    return getSharedInto(this.bucketKey, this.buf, <u32>BUCKET_BYTES);
  }

  /** Upstream that last served the longest matching prefix, -1 when none (or `limit` is exceeded). */
  lookup(limit: i32): i32 {
    let lastBucket: u32 = 0xffffffff;
    let n = 0;
    for (let i = this.count - 1; i >= 0; i--) {
      const h = unchecked(this.hashes[i]);
      const b = h % this.buckets;
      if (b != lastBucket) {
        n = this.readBucket(b);
        lastBucket = b;
      }
      if (n < ENTRY_BYTES) continue;
      const m = min(n, BUCKET_BYTES) / ENTRY_BYTES;
      for (let e = 0; e < m; e++) {
        const q = this.buf + <usize>(e * ENTRY_BYTES);
        if (load<u32>(q) == h) {
          const u = load<i32>(q + 4);
          return u >= 0 && u < limit ? u : -1;
        }
      }
    }
    return -1;
  }

  /** Points every block hash of the current request at `upstream`. */
  remember(upstream: i32, nowMs: i64): void {
    for (let i = 0; i < this.count; i++) {
      const h = unchecked(this.hashes[i]);
      const b = h % this.buckets;
      for (let t = 0; t < CAS_TRIES; t++) {
        const n = this.readBucket(b);
        const cas = n < 0 ? 0 : sharedCas;
        if (n < BUCKET_BYTES) memory.fill(this.buf + <usize>max(0, n), 0, <usize>(BUCKET_BYTES - max(0, n)));
        let slot = -1;
        let oldest = 0;
        let oldestAt = i64.MAX_VALUE;
        for (let e = 0; e < ENTRIES; e++) {
          const q = this.buf + <usize>(e * ENTRY_BYTES);
          const eh = load<u32>(q);
          if (eh == h) {
            slot = e;
            break;
          }
          const at = eh == 0 ? i64.MIN_VALUE : load<i64>(q + 8);
          if (at < oldestAt) {
            oldestAt = at;
            oldest = e;
          }
        }
        if (slot >= 0) {
          const q = this.buf + <usize>(slot * ENTRY_BYTES);
          if (load<i32>(q + 4) == upstream && nowMs - load<i64>(q + 8) < REFRESH_MS) break;
        } else slot = oldest;
        const q = this.buf + <usize>(slot * ENTRY_BYTES);
        store<u32>(q, h);
        store<i32>(q + 4, upstream);
        store<i64>(q + 8, nowMs);
        const r = setSharedRaw(this.bucketKey, this.buf, <u32>BUCKET_BYTES, cas);
        if (r != WasmResult.CasMismatch) break;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------- LoRA

  /** Sets the adapter the next loraHolds() calls look for. */
  setLoraModel(model: string, nowMs: i64): void {
    this.now = nowMs;
    this.adapterFull = String.UTF8.encode(model, false);
    const c = model.lastIndexOf(":");
    this.adapterShort = c >= 0 && c + 1 < model.length ? String.UTF8.encode(model.substring(c + 1), false) : this.adapterFull;
  }

  /** Whether the last fresh LoRA report of `u` lists the adapter among its running ones. */
  loraHolds(u: Upstream): bool {
    if (!this.loraEnabled || u.index >= this.loraKeys.length) return false;
    const n = getSharedInto(this.loraKeys[u.index], this.loraBuf, <u32>(LORA_HEADER + LORA_CAP));
    if (n < LORA_HEADER) return false;
    const b = this.loraBuf;
    if (this.now - load<i64>(b) > this.staleAfterMs) return false;
    let len = <i32>load<u32>(b + 8);
    if (len > n - LORA_HEADER) len = n - LORA_HEADER;
    if (len > LORA_CAP) len = LORA_CAP;
    const p = b + <usize>LORA_HEADER;
    let i = 0;
    while (i < len) {
      while (i < len && (load<u8>(p + <usize>i) == 0x20 || load<u8>(p + <usize>i) == 0x2c)) i++;
      const s = i;
      while (i < len && load<u8>(p + <usize>i) != 0x2c) i++;
      let e = i;
      while (e > s && load<u8>(p + <usize>(e - 1)) == 0x20) e--;
      if (e > s && (same(p + <usize>s, e - s, this.adapterFull) || same(p + <usize>s, e - s, this.adapterShort))) return true;
    }
    return false;
  }
}

function same(p: usize, n: i32, b: ArrayBuffer): bool {
  if (n != b.byteLength) return false;
  return memory.compare(p, changetype<usize>(b), <usize>n) == 0;
}

export function loraKey(cfg: RouterConfig, catalog: Catalog, u: Upstream): ArrayBuffer {
  return utf8(cfg.name + "/lora/" + catalog.pools[u.pool].cfg.name + "/" + u.name);
}

/** Writes an upstream's running LoRA adapters (poller side). */
export function writeLora(key: ArrayBuffer, scratch: usize, nowMs: i64, running: string): void {
  const bytes = String.UTF8.encode(running, false);
  const len = min(bytes.byteLength, LORA_CAP);
  store<i64>(scratch, nowMs);
  store<u32>(scratch + 8, <u32>len);
  if (len > 0) memory.copy(scratch + <usize>LORA_HEADER, changetype<usize>(bytes), <usize>len);
  setSharedRaw(key, scratch, <u32>(LORA_HEADER + len), 0);
}

export const LORA_RECORD_CAP: i32 = LORA_HEADER + LORA_CAP;
