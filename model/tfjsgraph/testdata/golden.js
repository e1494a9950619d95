// golden.js: intermediate feature maps of human-models' centernet (a tfjs
// graph model) on a synthetic input, computed by tfjs itself, for the Go
// parity test (parity_test.go).
//
// Run from a copy of ../shared/oracle (it has @tensorflow/tfjs 4.22.0,
// whose converter loads graph models):
//   node golden.js /path/to/models/centernet.json OUTDIR
// The input is pixel(x, y, c) = (x*7 + y*13 + c*31) % 256 (values 0-255,
// what human feeds the model), H=40, W=56: small, not square, and even
// sizes make TensorFlow's SAME padding of the stride-2 layers asymmetric.
// The placeholder's fixed 512x512 shape is dropped from the topology so
// that tfjs accepts another size (the convolutions take any size).
// Writes OUTDIR/<k>.f32 (raw little-endian float32, NHWC) and
// OUTDIR/golden.json (node names, shapes, file names, sums).
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

const NODES = [
  'tower_0/MobilenetV3/Conv/hard_swish/mul_1',
  'tower_0/MobilenetV3/expanded_conv/add',
  'tower_0/MobilenetV3/expanded_conv_3/expand/Relu',
  'tower_0/MobilenetV3/expanded_conv_3/project/BatchNorm/FusedBatchNorm',
  'tower_0/MobilenetV3/expanded_conv_5/expand/Relu',
  'tower_0/MobilenetV3/expanded_conv_6/expand/hard_swish/mul_1',
  'tower_0/MobilenetV3/expanded_conv_11/add',
  'tower_0/MobilenetV3/expanded_conv_14/add',
];
const H = 40, W = 56;

async function main() {
  const [jsonPath, out] = process.argv.slice(2);
  if (!jsonPath || !out) throw new Error('usage: node golden.js centernet.json OUTDIR');
  await tf.setBackend('cpu');
  const mj = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
  for (const n of mj.modelTopology.node) if (n.op === 'Placeholder' && n.attr) delete n.attr.shape;
  const specs = [], bufs = [];
  for (const g of mj.weightsManifest) {
    specs.push(...g.weights);
    for (const p of g.paths) bufs.push(fs.readFileSync(path.join(path.dirname(jsonPath), p)));
  }
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: mj.modelTopology, weightSpecs: specs, weightData }));
  const px = new Float32Array(H * W * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) px[(y * W + x) * 3 + c] = (x * 7 + y * 13 + c * 31) % 256;
  const input = tf.tensor4d(px, [1, H, W, 3]);
  const outs = model.execute({ 'tower_0/images': input }, NODES);
  fs.mkdirSync(out, { recursive: true });
  const meta = { input: { h: H, w: W, formula: '(x*7 + y*13 + c*31) % 256' }, tfjs: tf.version.tfjs, backend: tf.getBackend(), layers: [] };
  for (let i = 0; i < NODES.length; i++) {
    const d = outs[i].dataSync();
    const file = `${i}.f32`;
    fs.writeFileSync(path.join(out, file), Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    let s = 0, a = 0; for (const v of d) { s += v; a += Math.abs(v); }
    meta.layers.push({ node: NODES[i], shape: outs[i].shape, file, sum: s, abssum: a });
  }
  fs.writeFileSync(path.join(out, 'golden.json'), JSON.stringify(meta, null, 1) + '\n');
  console.log(JSON.stringify(meta.layers.map((l) => [l.node, l.shape, l.sum])));
}
main().catch((e) => { console.error(e); process.exit(1); });
