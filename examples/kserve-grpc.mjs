// KServe v2 gRPC through the local gateway (`npm start` or `inference-router serve -c examples/local.yaml`):
//   node examples/kserve-grpc.mjs [host:port]
// ModelInfer, then ModelStreamInfer with one response per generated token; prints which server answered.
import * as grpc from "@grpc/grpc-js";
import * as loader from "@grpc/proto-loader";

const target = process.argv[2] ?? "127.0.0.1:8080";
const def = loader.loadSync(new URL("../proto/kserve/grpc_predict_v2.proto", import.meta.url).pathname, {
  keepCase: true,
  longs: Number,
  defaults: true,
});
const { inference } = grpc.loadPackageDefinition(def);
const client = new inference.GRPCInferenceService(target, grpc.credentials.createInsecure());

const request = (text, maxTokens, stream) => ({
  model_name: "ensemble",
  inputs: [
    { name: "text_input", datatype: "BYTES", shape: [1], contents: { bytes_contents: [Buffer.from(text)] } },
    { name: "max_tokens", datatype: "INT32", shape: [1], contents: { int_contents: [maxTokens] } },
    { name: "stream", datatype: "BOOL", shape: [1], contents: { bool_contents: [stream] } },
  ],
});
// BYTES outputs come as raw contents: a 4-byte little-endian length, then the bytes.
const text = (raw) => raw.subarray(4, 4 + raw.readUInt32LE(0)).toString();

const unary = client.ModelInfer(request("What is a GPU?", 8, false), (err, res) => {
  if (err) {
    console.error("ModelInfer failed:", err.code, err.details);
    process.exit(1);
  }
  console.log("ModelInfer:", JSON.stringify(text(res.raw_output_contents[0])));
  const call = client.ModelStreamInfer();
  call.on("metadata", (md) => console.log("ModelStreamInfer served by", md.get("x-simulator")[0]));
  call.on("data", (r) =>
    process.stdout.write(r.error_message ? `[error: ${r.error_message}]` : text(r.infer_response.raw_output_contents[0])),
  );
  call.on("status", (s) => {
    console.log(`\nstream status: ${grpc.status[s.code]}`);
    client.close();
  });
  call.write(request("Stream a short answer", 12, true));
  call.end();
});
unary.on("metadata", (md) => console.log("ModelInfer served by", md.get("x-simulator")[0]));
