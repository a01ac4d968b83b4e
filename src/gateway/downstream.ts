// The two ends of a proxied stream, HTTP/1.1 or HTTP/2, behind one small interface so the gateway's data path
// (gateway.ts) reads the same for both: a Downstream is the client's request and our response to it, an
// Upstream call is our request to a model server and its response.
import http from "node:http";
import http2 from "node:http2";

export const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "host",
  "http2-settings",
]);

export type OutHeaders = Record<string, string | string[]>;

export interface Downstream {
  readonly protocol: "HTTP/1.1" | "HTTP/2";
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  /** Request headers without pseudo-headers and hop-by-hop headers. */
  readonly headers: Array<[string, string]>;
  /** The request has no body (end of stream with its headers). */
  readonly endStream: boolean;
  onData(cb: (chunk: Buffer) => void): void;
  /** End of the request body, with its trailers if any. */
  onEnd(cb: (trailers: Array<[string, string]> | undefined) => void): void;
  /** The client went away before the response ended. */
  onAbort(cb: () => void): void;
  readonly headersSent: boolean;
  readonly ended: boolean;
  respond(status: number, headers: OutHeaders, endStream: boolean): void;
  write(chunk: Uint8Array): void;
  end(trailers?: Array<[string, string]>): void;
  destroy(): void;
}

function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    if (!k.startsWith(":") && !HOP_BY_HOP.has(k)) out.push([k, raw[i + 1]!]);
  }
  return out;
}

export function http1Downstream(req: http.IncomingMessage, res: http.ServerResponse): Downstream {
  // HTTP/1.1 framing (RFC 9112 §6.3): no Content-Length and no Transfer-Encoding means no body.
  const endStream =
    req.headers["content-length"] === undefined ? req.headers["transfer-encoding"] === undefined : req.headers["content-length"] === "0";
  let ended = false;
  return {
    protocol: "HTTP/1.1",
    method: req.method ?? "GET",
    path: req.url ?? "/",
    authority: req.headers.host ?? "localhost",
    headers: pairs(req.rawHeaders),
    endStream,
    onData: (cb) => {
      req.on("data", cb);
    },
    onEnd: (cb) => {
      req.on("end", () => cb(req.rawTrailers.length ? pairs(req.rawTrailers) : undefined));
    },
    onAbort: (cb) => {
      res.on("close", () => {
        if (!res.writableFinished) cb();
      });
    },
    get headersSent() {
      return res.headersSent;
    },
    get ended() {
      return ended || res.writableEnded;
    },
    respond: (status, headers, eos) => {
      res.writeHead(status, headers);
      if (eos) {
        ended = true;
        res.end();
      }
    },
    write: (c) => {
      res.write(c);
    },
    end: (trailers) => {
      if (ended) return;
      ended = true;
      if (trailers?.length) res.addTrailers(trailers);
      res.end();
    },
    destroy: () => {
      res.destroy();
    },
  };
}

export function http2Downstream(
  stream: http2.ServerHttp2Stream,
  h: http2.IncomingHttpHeaders,
  flags: number,
  rawHeaders: string[],
): Downstream {
  let ended = false;
  let headersSent = false;
  let trailersOut: Array<[string, string]> | undefined;
  stream.on("error", () => undefined);
  return {
    protocol: "HTTP/2",
    method: String(h[":method"] ?? "GET"),
    path: String(h[":path"] ?? "/"),
    authority: String(h[":authority"] ?? "localhost"),
    headers: pairs(rawHeaders),
    endStream: (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0,
    onData: (cb) => {
      stream.on("data", cb);
    },
    onEnd: (cb) => {
      let trailers: Array<[string, string]> | undefined;
      stream.on("trailers", (_t: http2.IncomingHttpHeaders, _f: number, raw: string[]) => {
        trailers = pairs(raw);
      });
      stream.on("end", () => cb(trailers));
    },
    onAbort: (cb) => {
      stream.on("close", () => {
        if (!ended) cb();
      });
    },
    get headersSent() {
      return headersSent;
    },
    get ended() {
      return ended;
    },
    respond: (status, headers, eos) => {
      if (stream.destroyed) return;
      headersSent = true;
      const out: http2.OutgoingHttpHeaders = { ":status": status };
      for (const [k, v] of Object.entries(headers)) if (!HOP_BY_HOP.has(k)) out[k] = v;
      if (eos) {
        ended = true;
        stream.respond(out, { endStream: true });
        return;
      }
      // gRPC carries its status in trailers after the body: keep the stream open for them.
      const grpc = String(out["content-type"] ?? "").startsWith("application/grpc");
      stream.respond(out, { waitForTrailers: grpc });
      if (grpc)
        stream.on("wantTrailers", () => {
          stream.sendTrailers(Object.fromEntries(groupPairs(trailersOut ?? [])));
        });
    },
    write: (c) => {
      if (!stream.destroyed) stream.write(c);
    },
    end: (trailers) => {
      if (ended || stream.destroyed) return;
      ended = true;
      trailersOut = trailers;
      stream.end();
    },
    destroy: () => {
      ended = true;
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    },
  };
}

export function groupPairs(p: Array<[string, string]>): Map<string, string | string[]> {
  const m = new Map<string, string | string[]>();
  for (const [k, v] of p) {
    const prev = m.get(k);
    m.set(k, prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]);
  }
  return m;
}

// ------------------------------------------------------------------------------------------------ upstream
export interface UpstreamCall {
  write(chunk: Uint8Array): void;
  /** Ends the request, with its last bytes if any. */
  end(last?: Uint8Array): void;
  destroy(): void;
}

export interface UpstreamHandlers {
  response(status: number, headers: Array<[string, string]>, endStream: boolean): void;
  data(chunk: Buffer): void;
  end(trailers: Array<[string, string]> | undefined): void;
  /** Connection failure, reset or timeout; `beforeHeaders` tells whether a response had started. */
  error(kind: "connect" | "reset" | "timeout", beforeHeaders: boolean): void;
}

export interface UpstreamRequest {
  address: string;
  method: string;
  path: string;
  authority: string;
  headers: Array<[string, string]>;
  timeoutMs: number;
}

function splitAddress(a: string): [string, number] {
  const i = a.lastIndexOf(":");
  return [a.slice(0, i).replace(/^\[|\]$/g, ""), Number(a.slice(i + 1))];
}

export function http1Upstream(
  agent: http.Agent,
  r: UpstreamRequest,
  on: UpstreamHandlers,
  contentLength: number | undefined,
): UpstreamCall {
  const [hostname, port] = splitAddress(r.address);
  const headers: Record<string, string | string[]> = Object.fromEntries(groupPairs(r.headers.filter(([k]) => k !== "content-length")));
  headers.host = r.authority;
  if (contentLength !== undefined) headers["content-length"] = String(contentLength);
  let started = false;
  let failed = false;
  const req = http.request({ hostname, port, method: r.method, path: r.path, headers, agent, timeout: r.timeoutMs }, (res) => {
    started = true;
    const empty = res.headers["content-length"] === "0" || res.statusCode === 204 || res.statusCode === 304 || r.method === "HEAD";
    on.response(res.statusCode ?? 502, pairs(res.rawHeaders), empty);
    res.on("data", (c: Buffer) => on.data(c));
    res.on("end", () => on.end(res.rawTrailers.length ? pairs(res.rawTrailers) : undefined));
    res.on("error", () => {
      if (!failed) {
        failed = true;
        on.error("reset", false);
      }
    });
  });
  req.on("timeout", () => {
    req.destroy(new Error("timeout"));
    if (!failed) {
      failed = true;
      on.error("timeout", !started);
    }
  });
  req.on("error", (e) => {
    if (!failed) {
      failed = true;
      on.error((e as NodeJS.ErrnoException).code === "ECONNREFUSED" ? "connect" : "reset", !started);
    }
  });
  return {
    write: (c) => {
      req.write(c);
    },
    end: (last) => {
      if (last) req.end(last);
      else req.end();
    },
    destroy: () => {
      failed = true;
      req.destroy();
    },
  };
}

/** HTTP/2 client sessions per upstream address, reused like Envoy's connection pool. */
export class Http2Pool {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();

  session(address: string): http2.ClientHttp2Session {
    let s = this.sessions.get(address);
    if (s && !s.closed && !s.destroyed) return s;
    s = http2.connect(`http://${address}`);
    const created = s;
    created.on("error", () => undefined);
    created.on("close", () => {
      if (this.sessions.get(address) === created) this.sessions.delete(address);
    });
    created.on("goaway", () => {
      if (this.sessions.get(address) === created) this.sessions.delete(address);
    });
    this.sessions.set(address, created);
    return created;
  }

  close(): void {
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }

  request(r: UpstreamRequest, on: UpstreamHandlers, endStream: boolean): UpstreamCall {
    const out: http2.OutgoingHttpHeaders = { ":method": r.method, ":path": r.path, ":authority": r.authority, ":scheme": "http" };
    for (const [k, v] of groupPairs(r.headers.filter(([k]) => !HOP_BY_HOP.has(k)))) out[k] = v;
    // gRPC needs "te: trailers" end to end (the only TE value HTTP/2 allows).
    if (String(out["content-type"] ?? "").startsWith("application/grpc")) out.te = "trailers";
    let started = false;
    let failed = false;
    let stream: http2.ClientHttp2Stream;
    const fail = (kind: "connect" | "reset" | "timeout") => {
      if (!failed) {
        failed = true;
        on.error(kind, !started);
      }
    };
    try {
      stream = this.session(r.address).request(out, { endStream });
    } catch {
      queueMicrotask(() => fail("connect"));
      return { write: () => undefined, end: () => undefined, destroy: () => undefined };
    }
    stream.setTimeout(r.timeoutMs, () => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      fail("timeout");
    });
    let trailers: Array<[string, string]> | undefined;
    let headersEnded = false;
    stream.on("response", (h: http2.IncomingHttpHeaders, flags: number, raw: string[]) => {
      started = true;
      // A trailers-only gRPC response (or any bodyless one) ends the stream on its HEADERS frame.
      headersEnded = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
      on.response(Number(h[":status"] ?? 502), pairs(raw), headersEnded);
    });
    stream.on("trailers", (_h: http2.IncomingHttpHeaders, _f: number, raw: string[]) => {
      trailers = pairs(raw);
    });
    stream.on("data", (c: Buffer) => on.data(c));
    stream.on("end", () => {
      if (!failed && !headersEnded) on.end(trailers);
    });
    stream.on("error", (e: NodeJS.ErrnoException) =>
      fail(e.code === "ECONNREFUSED" || (!started && e.code === "ERR_HTTP2_STREAM_CANCEL") ? "connect" : "reset"),
    );
    stream.on("close", () => {
      if (!failed && !stream.readableEnded && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) fail("reset");
    });
    return {
      write: (c) => {
        if (!stream.destroyed) stream.write(c);
      },
      // Request trailers are not forwarded (no gRPC or HTTP client of the inference protocols sends them).
      end: (last) => {
        if (!stream.destroyed && !stream.writableEnded) {
          if (last) stream.end(last);
          else stream.end();
        }
      },
      destroy: () => {
        failed = true;
        stream.close(http2.constants.NGHTTP2_CANCEL);
      },
    };
  }
}
