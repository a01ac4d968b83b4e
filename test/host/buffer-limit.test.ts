// Envoy's request buffer limit (the listener's per_connection_buffer_limit_bytes): a filter that buffers the body
// (StopIterationAndBuffer) past it gets a local 413 from the filter manager; one that holds with watermark
// semantics (StopIterationAndWatermark) never does. Sources are cited in src/host/stream.ts (checkBufferLimit,
// bodyCallback).
import { describe, expect, it } from "vitest";
import { callbacks, scripted } from "./helpers.js";

describe("request buffer limit", () => {
  it("StopIterationAndBuffer past the limit: 413 request_payload_too_large, and the VM is not called for that chunk", async () => {
    const p = await scripted(["request_body return 1"], { allowOnHeadersStopIteration: true, bufferLimitBytes: 10 });
    const s = p.newStream();
    s.sendRequestHeaders({ ":method": "POST", ":path": "/" }).sendRequestBody("abcdef").sendRequestBody("ghijkl");
    expect(s.localReply?.status).toBe(413);
    expect(s.localReply?.details).toBe("request_payload_too_large");
    expect(s.localReply?.body).toBe("Payload Too Large");
    expect(callbacks(p).filter((c) => c.startsWith("request_body"))).toEqual(["request_body 2 6 0"]);
    expect(s.requestCompleteAtRouter).toBe(false);
  });

  it("exactly at the limit is fine (the watermark fires above it)", async () => {
    const p = await scripted(["request_body return 1"], { allowOnHeadersStopIteration: true, bufferLimitBytes: 10 });
    const s = p.newStream();
    s.sendRequestHeaders({ ":method": "POST", ":path": "/" }).sendRequestBody("abcde").sendRequestBody("fghij", true);
    expect(s.localReply).toBeUndefined();
    expect(callbacks(p).filter((c) => c.startsWith("request_body"))).toEqual(["request_body 2 5 0", "request_body 2 10 1"]);
  });

  it("StopIterationAndWatermark: each callback sees only its chunk, the data is kept, no 413", async () => {
    const p = await scripted(["request_body return 2"], { allowOnHeadersStopIteration: true, bufferLimitBytes: 10 });
    const s = p.newStream();
    s.sendRequestHeaders({ ":method": "POST", ":path": "/" })
      .sendRequestBody("abcdef")
      .sendRequestBody("ghijkl")
      .sendRequestBody("mn", true);
    expect(s.localReply).toBeUndefined();
    expect(callbacks(p).filter((c) => c.startsWith("request_body"))).toEqual([
      "request_body 2 6 0",
      "request_body 2 6 0",
      "request_body 2 2 1",
    ]);
    expect(s.paused.request).toBe(true); // held by the filter manager, though the VM sees only new chunks
  });

  it("0 disables the limit", async () => {
    const p = await scripted(["request_body return 1"], { allowOnHeadersStopIteration: true, bufferLimitBytes: 0 });
    const s = p.newStream();
    s.sendRequestHeaders({ ":method": "POST", ":path": "/" }).sendRequestBody("x".repeat(5_000_000));
    expect(s.localReply).toBeUndefined();
  });
});
