// golden.js runs fr_feature.onnx (npm faceplugin-face-recognition-js@0.0.1)
// with onnxruntime-node on the inputs the Go parity test uses, and writes
// their 512 outputs to golden.json beside it. The inputs are kept as uint8
// RGB images: a synthetic pattern (its recipe is in pattern() and in the Go
// test) and 112×112 face crops stored as PNG here, decoded below with
// node's zlib so that nothing but onnxruntime-node is needed.
//
// Usage: node golden.js MODEL.onnx   (with onnxruntime-node@1.30.0 on
// NODE_PATH or in a node_modules folder above the script)
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const ort = require('onnxruntime-node');

const SIZE = 112;

// pattern is the synthetic input: value (7x + 13y + 61c + (x·y mod 17)) mod 256.
function pattern() {
  const rgb = new Uint8Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++)
      for (let c = 0; c < 3; c++)
        rgb[(y * SIZE + x) * 3 + c] = (7 * x + 13 * y + 61 * c + ((x * y) % 17)) % 256;
  return rgb;
}

// decodePNG returns the RGB bytes of an 8-bit RGB or RGBA, non-interlaced PNG.
function decodePNG(buf) {
  let pos = 8, w = 0, h = 0, type = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const kind = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (kind === 'IHDR') {
      w = data.readUInt32BE(0); h = data.readUInt32BE(4); type = data[9];
      if (data[8] !== 8 || (type !== 2 && type !== 6) || data[12] !== 0) throw new Error('unsupported PNG');
    } else if (kind === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const bpp = type === 6 ? 4 : 3, stride = w * bpp;
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const img = new Uint8Array(h * stride);
  for (let y = 0; y < h; y++) {
    const f = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const v = raw[y * (stride + 1) + 1 + i];
      const a = i >= bpp ? img[y * stride + i - bpp] : 0;
      const b = y > 0 ? img[(y - 1) * stride + i] : 0;
      const c = i >= bpp && y > 0 ? img[(y - 1) * stride + i - bpp] : 0;
      let p;
      switch (f) {
        case 0: p = 0; break;
        case 1: p = a; break;
        case 2: p = b; break;
        case 3: p = (a + b) >> 1; break;
        case 4: {
          const q = a + b - c, pa = Math.abs(q - a), pb = Math.abs(q - b), pc = Math.abs(q - c);
          p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new Error('bad PNG filter ' + f);
      }
      img[y * stride + i] = (v + p) & 255;
    }
  }
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = img[i * bpp + c];
  if (w !== SIZE || h !== SIZE) throw new Error(`a ${w}×${h} crop, want ${SIZE}×${SIZE}`);
  return rgb;
}

// toInput is the package's preprocessing (lib/fr_feature.js): (v − 127)/128, NCHW.
function toInput(rgb) {
  const x = new Float32Array(3 * SIZE * SIZE);
  for (let i = 0; i < SIZE * SIZE; i++) for (let c = 0; c < 3; c++) x[c * SIZE * SIZE + i] = (rgb[i * 3 + c] - 127) / 128;
  return new ort.Tensor('float32', x, [1, 3, SIZE, SIZE]);
}

(async () => {
  const model = process.argv[2];
  if (!model) throw new Error('usage: node golden.js MODEL.onnx');
  const s = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled' });
  const inputs = [{ name: 'pattern', recipe: '(7x + 13y + 61c + (x*y mod 17)) mod 256' }];
  for (const f of ['crop_sample1_face0.png', 'crop_sample2_face0.png']) inputs.push({ name: f, png: f });
  const cases = [];
  for (const inp of inputs) {
    const rgb = inp.png ? decodePNG(fs.readFileSync(path.join(__dirname, inp.png))) : pattern();
    const out = await s.run({ [s.inputNames[0]]: toInput(rgb) });
    const y = out[s.outputNames[0]];
    cases.push({ ...inp, output: Array.from(y.data, (v) => Number(v.toPrecision(9))) });
  }
  const golden = { model: path.basename(model), runtime: 'onnxruntime-node ' + require('onnxruntime-node/package.json').version, cases };
  fs.writeFileSync(path.join(__dirname, 'golden.json'), JSON.stringify(golden) + '\n');
})().catch((e) => { console.error(e); process.exit(1); });
