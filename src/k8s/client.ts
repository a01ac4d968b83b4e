// A minimal Kubernetes API client: JSON requests and watch streams over node:http/https, nothing else.
//
// Why not @kubernetes/client-node: its newest major (2.x) depends on undici 8, which needs Node >= 22.19, and the
// project supports Node 20. The 1.x line installs on Node 20 but is no longer where fixes land, and brings about
// fifteen runtime packages (node-fetch, form-data, tar-fs, openid-client, ws, @types/node 24 …) for the four calls
// `sync` makes: list, watch, get and update. Node's own fetch cannot take the cluster's CA without undici's Agent,
// so this uses node:https, which can.
import { readFileSync, existsSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { parse as parseYaml } from "yaml";

export interface KubeConfig {
  server: string;
  token?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecureSkipTlsVerify?: boolean;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** In-cluster config (service account token and CA), as every in-cluster client reads it. */
export function inClusterConfig(): KubeConfig | undefined {
  const host = process.env.KUBERNETES_SERVICE_HOST,
    port = process.env.KUBERNETES_SERVICE_PORT;
  if (!host || !port || !existsSync(`${SA_DIR}/token`)) return undefined;
  return {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    token: readFileSync(`${SA_DIR}/token`, "utf8").trim(),
    ca: readFileSync(`${SA_DIR}/ca.crt`),
  };
}

/** The current context of a kubeconfig file (token, client certificate, CA; exec plugins are not supported). */
export function kubeconfigFile(
  file = process.env.KUBECONFIG?.split(path.delimiter)[0] || path.join(os.homedir(), ".kube", "config"),
): KubeConfig | undefined {
  if (!existsSync(file)) return undefined;
  const doc = parseYaml(readFileSync(file, "utf8")) as Record<string, any>;
  const ctxName = doc?.["current-context"];
  const ctx = (doc?.contexts ?? []).find((c: any) => c?.name === ctxName)?.context;
  const cluster = (doc?.clusters ?? []).find((c: any) => c?.name === ctx?.cluster)?.cluster;
  const user = (doc?.users ?? []).find((u: any) => u?.name === ctx?.user)?.user ?? {};
  if (!cluster?.server) throw new Error(`${file}: no cluster server for the current context "${ctxName}"`);
  const data = (inline: unknown, file?: unknown): Buffer | undefined =>
    typeof inline === "string" ? Buffer.from(inline, "base64") : typeof file === "string" ? readFileSync(file) : undefined;
  return {
    server: cluster.server,
    ca: data(cluster["certificate-authority-data"], cluster["certificate-authority"]),
    insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
    token:
      typeof user.token === "string"
        ? user.token
        : typeof user.tokenFile === "string"
          ? readFileSync(user.tokenFile, "utf8").trim()
          : undefined,
    cert: data(user["client-certificate-data"], user["client-certificate"]),
    key: data(user["client-key-data"], user["client-key"]),
  };
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: Record<string, any>;
}

export interface WatchHandle {
  /** Resolves when the stream ends (server closed it, or it dropped); rejects never. */
  done: Promise<{ error?: Error }>;
  stop(): void;
}

/** Largest JSON document accepted from the API server (one list or one watch event). */
const MAX_BODY = 64 * 1024 * 1024;

export class KubeClient {
  private readonly agent: http.Agent;
  private readonly url: URL;
  constructor(
    readonly config: KubeConfig,
    private readonly timeoutMs = 30_000,
  ) {
    this.url = new URL(config.server);
    this.agent =
      this.url.protocol === "https:"
        ? new https.Agent({
            keepAlive: true,
            ca: config.ca,
            cert: config.cert,
            key: config.key,
            rejectUnauthorized: !config.insecureSkipTlsVerify,
          })
        : new http.Agent({ keepAlive: true });
  }

  private open(
    method: string,
    p: string,
    headers: Record<string, string>,
    onResponse: (res: http.IncomingMessage) => void,
    onError: (e: Error) => void,
  ): http.ClientRequest {
    const u = new URL(p, this.url);
    const mod = u.protocol === "https:" ? https : http;
    const req = mod.request(
      u,
      {
        method,
        agent: this.agent,
        headers: { accept: "application/json", ...(this.config.token ? { authorization: `Bearer ${this.config.token}` } : {}), ...headers },
      },
      onResponse,
    );
    req.on("error", onError);
    return req;
  }

  /** One JSON request; non-2xx answers throw ApiError with the Status reason (Conflict, NotFound, Expired…). */
  request<T = Record<string, any>>(method: string, p: string, body?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = this.open(
        method,
        p,
        payload ? { "content-type": "application/json" } : {},
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) {
              req.destroy(new Error(`${method} ${p}: response larger than ${MAX_BODY} bytes`));
              return;
            }
            chunks.push(c);
          });
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let doc: any;
            try {
              doc = text ? JSON.parse(text) : {};
            } catch {
              doc = undefined;
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300 && doc && typeof doc === "object") resolve(doc as T);
            else reject(new ApiError(status, doc?.reason ?? "", `${method} ${p}: ${status} ${doc?.message ?? text.slice(0, 200)}`));
          });
        },
        reject,
      );
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`${method} ${p}: timed out after ${this.timeoutMs} ms`)));
      req.end(payload);
    });
  }

  /**
   * A watch stream: newline-delimited JSON events until the server ends it (timeoutSeconds), the connection drops,
   * or stop(). Each line is parsed on its own; a malformed line ends the stream with an error (the caller rewatches).
   */
  watch(p: string, onEvent: (e: WatchEvent) => void): WatchHandle {
    let finish!: (r: { error?: Error }) => void;
    const done = new Promise<{ error?: Error }>((r) => {
      finish = r;
    });
    let ended = false;
    const end = (error?: Error) => {
      if (!ended) {
        ended = true;
        finish(error ? { error } : {});
      }
    };
    const req = this.open(
      "GET",
      p,
      {},
      (res) => {
        if ((res.statusCode ?? 0) !== 200) {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => {
            if (chunks.length < 64) chunks.push(c);
          });
          res.on("end", () => {
            let doc: any;
            try {
              doc = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            } catch {
              doc = undefined;
            }
            end(new ApiError(res.statusCode ?? 0, doc?.reason ?? "", `watch ${p}: ${res.statusCode} ${doc?.message ?? ""}`));
          });
          return;
        }
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          buf += c;
          if (buf.length > MAX_BODY) {
            req.destroy();
            end(new Error("watch event too large"));
            return;
          }
          let nl: number;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            let e: WatchEvent;
            try {
              e = JSON.parse(line);
            } catch {
              req.destroy();
              end(new Error(`watch ${p}: malformed event`));
              return;
            }
            if (!e || typeof e !== "object" || typeof e.type !== "string" || !e.object || typeof e.object !== "object") {
              req.destroy();
              end(new Error(`watch ${p}: malformed event`));
              return;
            }
            onEvent(e);
          }
        });
        res.on("end", () => end());
        res.on("error", (e) => end(e));
        res.on("close", () => end(new Error("connection closed")));
      },
      (e) => end(e),
    );
    req.end();
    return {
      done,
      stop: () => {
        req.destroy();
        end();
      },
    };
  }

  close(): void {
    this.agent.destroy();
  }
}
