// A scriptable test filter for the host conformance suite. The plugin (or VM) configuration is a small program:
// one line per host call, `<callback>[@<context id>] <op> <args...>`. Each callback first logs
// `CB <callback> <context> <args...>`, then runs its lines and logs `R <callback> <context> <op> <status> <value>`.
// Tests read those logs, so every host call and its exact status code is observable from the outside.
// Arguments are percent-decoded (`%20` space, `%00` NUL), `~` is the empty string, `$stream` is the last stream
// context id created in this VM and `$root` the root id. Byte values are printed with non-printables as \xNN.
import "../../assembly/runtime/abort";
import * as abi from "../../assembly/runtime/abi";

// @ts-ignore: decorator
@external("env", "proxy_grpc_call")
declare function proxy_grpc_call(a: usize, b: usize, c: usize, d: usize, e: usize, f: usize, g: usize, h: usize, i: usize, j: usize, timeout: u32, token: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_grpc_stream")
declare function proxy_grpc_stream(a: usize, b: usize, c: usize, d: usize, e: usize, f: usize, g: usize, h: usize, token: usize): u32;
// @ts-ignore: decorator
@external("env", "proxy_grpc_send")
declare function proxy_grpc_send(token: u32, p: usize, n: usize, eos: u32): u32;
// @ts-ignore: decorator
@external("env", "proxy_grpc_cancel")
declare function proxy_grpc_cancel(token: u32): u32;
// @ts-ignore: decorator
@external("env", "proxy_grpc_close")
declare function proxy_grpc_close(token: u32): u32;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_write")
declare function fd_write(fd: u32, iovs: usize, n: usize, written: usize): u32;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "clock_time_get")
declare function clock_time_get(id: u32, precision: u64, out: usize): u32;
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
declare function random_get(buf: usize, len: usize): u32;
// @ts-ignore: decorator
@external("wasi_unstable", "proc_exit")
declare function proc_exit(code: u32): void;

export function malloc(size: usize): usize {
  return heap.alloc(size);
}
export function proxy_abi_version_0_2_1(): void {}

// Out-parameter scratch area: +0 ptr, +4 len, +8 u32, +16 u64, +24 iovec.
const OUT = memory.data(64);
let lastStream: u32 = 0;
let rootId: u32 = 0;
const script = new Map<string, Array<Array<string>>>();

function say(level: u32, s: string): void {
  const b = String.UTF8.encode(s);
  abi.proxy_log(level, changetype<usize>(b), b.byteLength);
}

function hexDigit(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return 0;
}

function dec(tok: string): string {
  if (tok == "~") return "";
  if (tok == "$stream") return lastStream.toString();
  if (tok == "$root") return rootId.toString();
  if (tok.indexOf("%") < 0) return tok;
  let out = "";
  for (let i = 0; i < tok.length; i++) {
    const c = tok.charCodeAt(i);
    if (c == 37 && i + 2 < tok.length + 0 && i + 2 <= tok.length - 1 + 0) {
      out += String.fromCharCode((hexDigit(tok.charCodeAt(i + 1)) << 4) | hexDigit(tok.charCodeAt(i + 2)));
      i += 2;
    } else out += String.fromCharCode(c);
  }
  return out;
}

function hexBuf(hex: string): ArrayBuffer {
  if (hex == "~") return new ArrayBuffer(0);
  const b = new ArrayBuffer(hex.length >> 1);
  for (let i = 0; i < hex.length >> 1; i++) {
    store<u8>(changetype<usize>(b) + i, <u8>((hexDigit(hex.charCodeAt(2 * i)) << 4) | hexDigit(hex.charCodeAt(2 * i + 1))));
  }
  return b;
}

function esc(ptr: usize, len: usize): string {
  let s = "";
  for (let i: usize = 0; i < len; i++) {
    const c = load<u8>(ptr + i);
    if (c >= 0x21 && c < 0x7f && c != 0x5c) s += String.fromCharCode(c);
    else {
      s += "\\x";
      s += (c >> 4).toString(16);
      s += (c & 15).toString(16);
    }
  }
  return s;
}

function u32a(s: string): u32 { return U32.parseInt(dec(s)); }
function i32a(s: string): i32 { return I32.parseInt(dec(s)); }

// Encodes a string argument; returns [ptr, len] via globals to avoid tuple allocations.
let P: usize = 0;
let L: usize = 0;
function arg(s: string): ArrayBuffer {
  const b = String.UTF8.encode(dec(s));
  P = changetype<usize>(b);
  L = b.byteLength;
  return b;
}

function outVal(): string {
  return esc(load<u32>(OUT), load<u32>(OUT + 4));
}

function exec(cb: string, ctx: u32, t: Array<string>): i32 {
  const op = t[0];
  let st: u32 = 0;
  let v = "-";
  store<u32>(OUT, 0xdeadbeef);
  store<u32>(OUT + 4, 0xdeadbeef);
  if (op == "return") {
    return i32a(t[1]);
  } else if (op == "log") {
    const b = arg(t[2]);
    st = abi.proxy_log(u32a(t[1]), P, L);
  } else if (op == "loglevel") {
    st = abi.proxy_get_log_level(OUT + 8);
    if (st == 0) v = load<u32>(OUT + 8).toString();
  } else if (op == "time") {
    st = abi.proxy_get_current_time_nanoseconds(OUT + 16);
    if (st == 0) v = load<u64>(OUT + 16).toString();
  } else if (op == "tick") {
    st = abi.proxy_set_tick_period_milliseconds(u32a(t[1]));
  } else if (op == "prop") {
    const b = arg(t[1]);
    st = abi.proxy_get_property(P, L, OUT, OUT + 4);
    if (st == 0) v = outVal();
  } else if (op == "setprop") {
    const b = arg(t[1]);
    const p = P, l = L;
    const c = arg(t[2]);
    st = abi.proxy_set_property(p, l, P, L);
  } else if (op == "buf") {
    st = abi.proxy_get_buffer_bytes(u32a(t[1]), u32a(t[2]), u32a(t[3]), OUT, OUT + 4);
    if (st == 0) v = outVal() + " ptr0=" + (load<u32>(OUT) == 0 ? "1" : "0");
  } else if (op == "raw_buf") {
    st = abi.proxy_get_buffer_bytes(u32a(t[1]), u32a(t[2]), u32a(t[3]), u32a(t[4]), u32a(t[5]));
  } else if (op == "bufstatus") {
    st = abi.proxy_get_buffer_status(u32a(t[1]), OUT + 8, OUT + 12);
    if (st == 0) v = load<u32>(OUT + 8).toString() + "/" + load<u32>(OUT + 12).toString();
  } else if (op == "setbuf") {
    const b = arg(t[4]);
    st = abi.proxy_set_buffer_bytes(u32a(t[1]), u32a(t[2]), u32a(t[3]), P, L);
  } else if (op == "pairs") {
    st = abi.proxy_get_header_map_pairs(u32a(t[1]), OUT, OUT + 4);
    if (st == 0) v = outVal() + " ptr0=" + (load<u32>(OUT) == 0 ? "1" : "0");
  } else if (op == "setpairs") {
    const b = hexBuf(t[2]);
    st = abi.proxy_set_header_map_pairs(u32a(t[1]), changetype<usize>(b), b.byteLength);
  } else if (op == "hdr") {
    const b = arg(t[2]);
    st = abi.proxy_get_header_map_value(u32a(t[1]), P, L, OUT, OUT + 4);
    if (st == 0) v = outVal();
  } else if (op == "raw_hdr") {
    const b = arg(t[2]);
    st = abi.proxy_get_header_map_value(u32a(t[1]), P, L, u32a(t[3]), u32a(t[4]));
  } else if (op == "add" || op == "rep") {
    const b = arg(t[2]);
    const p = P, l = L;
    const c = arg(t[3]);
    st = op == "add" ? abi.proxy_add_header_map_value(u32a(t[1]), p, l, P, L) : abi.proxy_replace_header_map_value(u32a(t[1]), p, l, P, L);
  } else if (op == "rm") {
    const b = arg(t[2]);
    st = abi.proxy_remove_header_map_value(u32a(t[1]), P, L);
  } else if (op == "hsize") {
    st = abi.proxy_get_header_map_size(u32a(t[1]), OUT + 8);
    if (st == 0) v = load<u32>(OUT + 8).toString();
  } else if (op == "cont") {
    st = abi.proxy_continue_stream(u32a(t[1]));
  } else if (op == "close") {
    st = abi.proxy_close_stream(u32a(t[1]));
  } else if (op == "reply") {
    const d = arg(t[2]);
    const dp = P, dl = L;
    const bd = arg(t[3]);
    const bp = P, bl = L;
    const h = hexBuf(t[5]);
    st = abi.proxy_send_local_response(u32a(t[1]), dp, dl, bp, bl, changetype<usize>(h), h.byteLength, u32a(t[4]));
  } else if (op == "call") {
    const c = arg(t[1]);
    const cp = P, cl = L;
    const h = hexBuf(t[2]);
    const bd = arg(t[3]);
    const bp = P, bl = L;
    const tr = hexBuf(t[4]);
    st = abi.proxy_http_call(cp, cl, changetype<usize>(h), h.byteLength, bp, bl, changetype<usize>(tr), tr.byteLength, u32a(t[5]), OUT + 8);
    if (st == 0) v = load<u32>(OUT + 8).toString();
  } else if (op == "status") {
    st = abi.proxy_get_status(OUT + 8, OUT, OUT + 4);
    if (st == 0) v = load<u32>(OUT + 8).toString() + ":" + outVal();
  } else if (op == "setsh") {
    const k = arg(t[1]);
    const kp = P, kl = L;
    const d = arg(t[2]);
    st = abi.proxy_set_shared_data(kp, kl, P, L, u32a(t[3]));
  } else if (op == "getsh") {
    const k = arg(t[1]);
    st = abi.proxy_get_shared_data(P, L, OUT, OUT + 4, OUT + 8);
    if (st == 0) v = outVal() + " cas=" + load<u32>(OUT + 8).toString();
  } else if (op == "regq") {
    const k = arg(t[1]);
    st = abi.proxy_register_shared_queue(P, L, OUT + 8);
    if (st == 0) v = load<u32>(OUT + 8).toString();
  } else if (op == "resq") {
    const k = arg(t[1]);
    const kp = P, kl = L;
    const n = arg(t[2]);
    st = abi.proxy_resolve_shared_queue(kp, kl, P, L, OUT + 8);
    if (st == 0) v = load<u32>(OUT + 8).toString();
  } else if (op == "enq") {
    const d = arg(t[2]);
    st = abi.proxy_enqueue_shared_queue(u32a(t[1]), P, L);
  } else if (op == "deq") {
    st = abi.proxy_dequeue_shared_queue(u32a(t[1]), OUT, OUT + 4);
    if (st == 0) v = outVal();
  } else if (op == "defm") {
    const n = arg(t[2]);
    st = abi.proxy_define_metric(u32a(t[1]), P, L, OUT + 8);
    if (st == 0) v = load<u32>(OUT + 8).toString();
  } else if (op == "incm") {
    st = abi.proxy_increment_metric(u32a(t[1]), I64.parseInt(dec(t[2])));
  } else if (op == "recm") {
    st = abi.proxy_record_metric(u32a(t[1]), U64.parseInt(dec(t[2])));
  } else if (op == "getm") {
    st = abi.proxy_get_metric(u32a(t[1]), OUT + 16);
    if (st == 0) v = load<u64>(OUT + 16).toString();
  } else if (op == "eff") {
    st = abi.proxy_set_effective_context(u32a(t[1]));
  } else if (op == "done") {
    st = abi.proxy_done();
  } else if (op == "ff") {
    const n = arg(t[1]);
    const np = P, nl = L;
    const a = arg(t[2]);
    st = abi.proxy_call_foreign_function(np, nl, P, L, OUT, OUT + 4);
    if (st == 0) v = outVal();
  } else if (op == "grpc_call") {
    const s = arg(t[1]);
    st = proxy_grpc_call(P, L, P, L, P, L, 0, 0, 0, 0, 1000, OUT + 8);
  } else if (op == "grpc_stream") {
    const s = arg(t[1]);
    st = proxy_grpc_stream(P, L, P, L, P, L, 0, 0, OUT + 8);
  } else if (op == "grpc_send") {
    st = proxy_grpc_send(u32a(t[1]), 0, 0, 0);
  } else if (op == "grpc_cancel") {
    st = proxy_grpc_cancel(u32a(t[1]));
  } else if (op == "grpc_close") {
    st = proxy_grpc_close(u32a(t[1]));
  } else if (op == "fdw") {
    const d = arg(t[2]);
    store<u32>(OUT + 24, P);
    store<u32>(OUT + 28, L);
    st = fd_write(u32a(t[1]), OUT + 24, 1, OUT + 8);
    if (st == 0) v = load<u32>(OUT + 8).toString();
  } else if (op == "clock") {
    st = clock_time_get(u32a(t[1]), 0, OUT + 16);
    if (st == 0) v = load<u64>(OUT + 16).toString();
  } else if (op == "rand") {
    const n = u32a(t[1]);
    const b = new ArrayBuffer(n);
    st = random_get(changetype<usize>(b), n);
  } else if (op == "exit") {
    proc_exit(u32a(t[1]));
    v = "returned";
  } else if (op == "trap") {
    unreachable();
  } else if (op == "grow") {
    v = memory.grow(i32a(t[1])).toString();
  } else {
    v = "unknown-op";
  }
  say(2, "R " + cb + " " + ctx.toString() + " " + op + " " + st.toString() + " " + v);
  return -1;
}

function run(cb: string, ctx: u32, dflt: i32): i32 {
  let ret = dflt;
  const keys = [cb + "@" + ctx.toString(), cb];
  for (let k = 0; k < keys.length; k++) {
    if (!script.has(keys[k])) continue;
    const lines = script.get(keys[k]);
    for (let i = 0; i < lines.length; i++) {
      const r = exec(cb, ctx, lines[i]);
      if (r >= 0) ret = r;
    }
  }
  return ret;
}

function load_script(type: u32, size: u32): void {
  if (size == 0) return;
  if (abi.proxy_get_buffer_bytes(type, 0, size, OUT, OUT + 4) != 0) return;
  const text = String.UTF8.decodeUnsafe(load<u32>(OUT), load<u32>(OUT + 4));
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.length == 0 || line.startsWith("#")) continue;
    const toks = line.split(" ");
    const key = toks[0];
    const rest = toks.slice(1);
    if (!script.has(key)) script.set(key, new Array<Array<string>>());
    script.get(key).push(rest);
  }
}

function cb(name: string, ctx: u32, args: string): void {
  say(2, "CB " + name + " " + ctx.toString() + args);
}

export function proxy_on_context_create(id: u32, parent: u32): void {
  if (parent == 0) rootId = id;
  else lastStream = id;
  cb("context_create", id, " " + parent.toString());
  run("context_create", id, 0);
}
export function proxy_on_vm_start(root: u32, size: u32): u32 {
  cb("vm_start", root, " " + size.toString());
  load_script(6, size);
  return run("vm_start", root, 1);
}
export function proxy_on_configure(root: u32, size: u32): u32 {
  cb("configure", root, " " + size.toString());
  load_script(7, size);
  return run("configure", root, 1);
}
export function proxy_on_tick(root: u32): void {
  cb("tick", root, "");
  run("tick", root, 0);
}
export function proxy_on_request_headers(id: u32, n: u32, eos: u32): u32 {
  cb("request_headers", id, " " + n.toString() + " " + eos.toString());
  return run("request_headers", id, 0);
}
export function proxy_on_request_body(id: u32, n: u32, eos: u32): u32 {
  cb("request_body", id, " " + n.toString() + " " + eos.toString());
  return run("request_body", id, 0);
}
export function proxy_on_request_trailers(id: u32, n: u32): u32 {
  cb("request_trailers", id, " " + n.toString());
  return run("request_trailers", id, 0);
}
export function proxy_on_response_headers(id: u32, n: u32, eos: u32): u32 {
  cb("response_headers", id, " " + n.toString() + " " + eos.toString());
  return run("response_headers", id, 0);
}
export function proxy_on_response_body(id: u32, n: u32, eos: u32): u32 {
  cb("response_body", id, " " + n.toString() + " " + eos.toString());
  return run("response_body", id, 0);
}
export function proxy_on_response_trailers(id: u32, n: u32): u32 {
  cb("response_trailers", id, " " + n.toString());
  return run("response_trailers", id, 0);
}
export function proxy_on_http_call_response(root: u32, token: u32, nh: u32, bl: u32, nt: u32): void {
  cb("http_call_response", root, " " + token.toString() + " " + nh.toString() + " " + bl.toString() + " " + nt.toString());
  run("http_call_response", root, 0);
}
export function proxy_on_queue_ready(root: u32, q: u32): void {
  cb("queue_ready", root, " " + q.toString());
  run("queue_ready", root, 0);
}
export function proxy_on_log(id: u32): void {
  cb("log", id, "");
  run("log", id, 0);
}
export function proxy_on_done(id: u32): u32 {
  cb("done", id, "");
  return run("done", id, 1);
}
export function proxy_on_delete(id: u32): void {
  cb("delete", id, "");
  run("delete", id, 0);
}
