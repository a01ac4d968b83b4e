// List + watch one kind of object into a cache, the way client-go's reflector does: list (remember the list's
// resourceVersion), watch from it with bookmarks, follow the resourceVersion of every event and bookmark, rewatch
// after a dropped connection or a server timeout, relist after 410 Gone ("too old resource version"). A failed list
// keeps the last good cache: a transient error never empties what the controller knows.
import { ApiError, type KubeClient, type WatchEvent } from "./client.js";

export interface ReflectorOptions {
  /** Collection path, e.g. /apis/discovery.k8s.io/v1/namespaces/llm/endpointslices */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Server-side watch timeout (the server ends the stream; we rewatch). */
  watchTimeoutSeconds?: number;
  /** Backoff after an error, doubling up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  onChange: () => void;
  onError?: (e: Error) => void;
}

export class Reflector {
  readonly items = new Map<string, Record<string, any>>();
  /** A list has succeeded at least once (the cache means something). */
  synced = false;
  resourceVersion = "";
  relists = 0;
  private stopped = false;
  private current: { stop(): void } | undefined;
  private backoff: number;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly o: ReflectorOptions,
  ) {
    this.backoff = o.backoffMs ?? 200;
  }

  private query(extra: Record<string, string>): string {
    const q = new URLSearchParams();
    if (this.o.labelSelector) q.set("labelSelector", this.o.labelSelector);
    if (this.o.fieldSelector) q.set("fieldSelector", this.o.fieldSelector);
    for (const [k, v] of Object.entries(extra)) q.set(k, v);
    return `${this.o.path}?${q}`;
  }

  async run(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) {
          await this.list();
          needList = false;
        }
        const r = await this.watchOnce();
        if (r === "gone") {
          needList = true;
          this.relists++;
          continue;
        }
        this.backoff = this.o.backoffMs ?? 200; // a watch that ran resets the backoff
        if (r === "dropped") await this.sleep(this.backoff);
      } catch (e) {
        if (this.stopped) break;
        if (e instanceof ApiError && e.status === 410) {
          needList = true;
          this.relists++;
          continue;
        }
        this.o.onError?.(e as Error);
        await this.sleep(this.backoff);
        this.backoff = Math.min(this.backoff * 2, this.o.maxBackoffMs ?? 10_000);
        needList = true;
      }
    }
  }

  /** One list (for `--once`). */
  listOnce(): Promise<void> {
    return this.list();
  }

  private async list(): Promise<void> {
    const doc = await this.client.request("GET", this.query({}));
    if (!Array.isArray(doc.items) || typeof doc.metadata?.resourceVersion !== "string") throw new Error(`list ${this.o.path}: not a list`);
    this.items.clear();
    for (const it of doc.items) if (it?.metadata?.name) this.items.set(keyOf(it), it);
    this.resourceVersion = doc.metadata.resourceVersion;
    this.synced = true;
    this.o.onChange();
  }

  /** One watch stream: "ended" (server timeout: rewatch), "dropped" (connection lost: rewatch after a pause), "gone" (relist). */
  private async watchOnce(): Promise<"ended" | "dropped" | "gone"> {
    let gone = false;
    const h = this.client.watch(
      this.query({
        watch: "1",
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: "true",
        timeoutSeconds: String(this.o.watchTimeoutSeconds ?? 300),
      }),
      (e: WatchEvent) => {
        if (gone) return;
        if (e.type === "ERROR") {
          // A Status object; 410 Expired/Gone means our resourceVersion was compacted away: relist.
          if (e.object?.code === 410) gone = true;
          else this.o.onError?.(new Error(`watch ${this.o.path}: ${e.object?.message ?? "error event"}`));
          h.stop();
          return;
        }
        const rv = e.object?.metadata?.resourceVersion;
        if (typeof rv === "string" && rv) this.resourceVersion = rv;
        if (e.type === "BOOKMARK") return;
        if (!e.object?.metadata?.name) return;
        if (e.type === "DELETED") this.items.delete(keyOf(e.object));
        else if (e.type === "ADDED" || e.type === "MODIFIED") this.items.set(keyOf(e.object), e.object);
        else return;
        this.o.onChange();
      },
    );
    this.current = h;
    const r = await h.done;
    this.current = undefined;
    if (gone) return "gone";
    if (r.error instanceof ApiError && r.error.status === 410) return "gone";
    if (r.error instanceof ApiError) throw r.error;
    return r.error ? "dropped" : "ended";
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      this.wake = r;
      this.timer = setTimeout(r, ms);
    });
  }

  stop(): void {
    this.stopped = true;
    this.current?.stop();
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
  }
}

export function keyOf(o: Record<string, any>): string {
  return `${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
}
