// One cleartext port for HTTP/1.1 and HTTP/2 with prior knowledge (h2c), as an Envoy listener with
// `codec_type: AUTO` accepts them: a connection that opens with the HTTP/2 client preface goes to an http2
// server, every other connection to an http1 server. (node's `allowHTTP1` exists only for TLS/ALPN.)
// RFC 9113 §3.4: the client connection preface starts with "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { AddressInfo } from "node:net";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export interface DualServer {
  readonly tcp: net.Server;
  readonly h1: http.Server;
  readonly h2: http2.Http2Server;
  listen(port: number, host: string): Promise<number>;
  readonly port: number;
  close(): Promise<void>;
}

/** Sessions and sockets are tracked so close() ends them all (like closeAllConnections). */
export function createDualServer(h1: http.Server, h2: http2.Http2Server): DualServer {
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (s: http2.Http2Session) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
    s.on("error", () => undefined);
  });
  // noDelay as http.createServer sets it (the listener is ours, so its sockets would otherwise keep Nagle's
  // algorithm and stall small responses against delayed ACKs).
  const tcp = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const isH2 = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (isH2 && seen.length < PREFACE.length) return; // need more bytes to decide
      socket.off("data", onData);
      socket.pause();
      socket.unshift(seen);
      // http2 reads what was unshifted when it takes the socket over; resuming it first would drop those bytes.
      (isH2 ? h2 : h1).emit("connection", socket);
      if (!isH2) socket.resume();
    };
    socket.on("data", onData);
  });
  let closed = false;
  let bound = 0;
  return {
    tcp,
    h1,
    h2,
    listen(port: number, host: string): Promise<number> {
      return new Promise((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, host, () => {
          tcp.off("error", reject);
          bound = (tcp.address() as AddressInfo).port;
          resolve(bound);
        });
      });
    },
    /** The bound port; still answered after close (the address a restarted server takes again). */
    get port(): number {
      return bound;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const s of sessions) s.destroy();
      for (const s of sockets) s.destroy();
      h1.closeAllConnections();
      await new Promise<void>((r) => {
        if (tcp.listening) tcp.close(() => r());
        else r();
      });
    },
  };
}

/** The request half of an HTTP/2 exchange, shaped like the parts of http.IncomingMessage the simulator uses. */
export interface H2Request {
  readonly method: string;
  readonly url: string;
  readonly headers: http2.IncomingHttpHeaders;
  on(event: "data", cb: (chunk: Buffer) => void): unknown;
  on(event: "end", cb: () => void): unknown;
}

/**
 * The response half, shaped like the parts of http.ServerResponse the simulator uses. Written directly on the
 * stream rather than through node's http2 compatibility objects, which also attach to the stream (reading its
 * data and hooking its trailers) and so cannot share a server with raw-stream gRPC handling.
 */
export class H2Response {
  headersSent = false;
  writableEnded = false;
  private readonly pending: http2.OutgoingHttpHeaders = {};
  constructor(readonly stream: http2.ServerHttp2Stream) {}
  get destroyed(): boolean {
    return this.stream.destroyed;
  }
  setHeader(name: string, value: string | number | readonly string[]): this {
    this.pending[name.toLowerCase()] = value as string;
    return this;
  }
  writeHead(status: number, headers: Record<string, string | number | string[]> = {}): this {
    if (this.headersSent || this.stream.destroyed) return this;
    this.headersSent = true;
    const out: http2.OutgoingHttpHeaders = { ...this.pending, ":status": status };
    for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
    this.stream.respond(out);
    return this;
  }
  write(chunk: string | Uint8Array): boolean {
    if (!this.headersSent) this.writeHead(200);
    return this.stream.destroyed ? false : this.stream.write(chunk);
  }
  end(chunk?: string | Uint8Array): this {
    if (this.writableEnded) return this;
    if (!this.headersSent) this.writeHead(200);
    this.writableEnded = true;
    if (!this.stream.destroyed) {
      if (chunk !== undefined) this.stream.end(chunk);
      else this.stream.end();
    }
    return this;
  }
  on(event: "close", cb: () => void): this {
    this.stream.on(event, cb);
    return this;
  }
}

export function h2Exchange(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): { req: H2Request; res: H2Response } {
  stream.on("error", () => undefined);
  const req: H2Request = {
    method: String(headers[":method"] ?? "GET"),
    url: String(headers[":path"] ?? "/"),
    headers,
    on: (event: "data" | "end", cb: (chunk: Buffer) => void) => stream.on(event, cb),
  };
  return { req, res: new H2Response(stream) };
}
