// attributes.js runs the liveness and attribute networks of npm
// faceplugin-face-recognition-js@0.0.1 (fr_liveness, fr_age, fr_gender,
// fr_expression, fr_pose, fr_eye) with onnxruntime-node on the inputs the Go parity
// test (attributes_test.go) builds, and writes every output of each to
// golden_attributes.json beside it. Each network gets two uint8 images at
// its input size, scaled the way the package's lib/fr_*.js scales them:
// a synthetic pattern, and the 112×112 face crop crop_sample1_face0.png
// resampled by nearest neighbour (source index floor(i·112/size)) so that
// Go and JS build the same bytes without a shared resizer.
//
// Usage: node attributes.js MODEL_DIR   (with onnxruntime-node@1.30.0 on
// NODE_PATH or in a node_modules folder above the script)
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const ort = require('onnxruntime-node');

// The package's scalings (lib/fr_*.js), from uint8 v of channel c.
const imagenet = (v, c) => (v / 255.0 - [0.485, 0.456, 0.406][c]) / [0.229, 0.224, 0.225][c];
const MODELS = [
  { name: 'fr_liveness', size: 128, channels: 3, scale: (v) => v },
  { name: 'fr_age', size: 64, channels: 3, scale: imagenet },
  { name: 'fr_gender', size: 64, channels: 3, scale: imagenet },
  { name: 'fr_expression', size: 224, channels: 3, scale: (v) => v / 255.0 },
  { name: 'fr_pose', size: 224, channels: 3, scale: imagenet },
  { name: 'fr_eye', size: 24, channels: 1, scale: (v) => v / 255.0 },
];

// pattern: value (7x + 13y + 61c + (x·y mod 17)) mod 256, HWC.
function pattern(size, ch) {
  const px = new Uint8Array(size * size * ch);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < ch; c++) px[(y * size + x) * ch + c] = (7 * x + 13 * y + 61 * c + ((x * y) % 17)) % 256;
  return px;
}

// decodePNG returns the RGB bytes and size of an 8-bit RGB(A), non-interlaced PNG.
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
  return { rgb, w, h };
}

// nearest resamples an RGB image to size×size with ch channels (ch 1: the
// first, red, channel; the eye network reads grey, and any channel is a
// fair test of the arithmetic).
function nearest(img, size, ch) {
  const px = new Uint8Array(size * size * ch);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const sy = Math.floor((y * img.h) / size), sx = Math.floor((x * img.w) / size);
      for (let c = 0; c < ch; c++) px[(y * size + x) * ch + c] = img.rgb[(sy * img.w + sx) * 3 + c];
    }
  return px;
}

function toInput(px, m) {
  const n = m.size * m.size;
  const x = new Float32Array(m.channels * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < m.channels; c++) x[c * n + i] = m.scale(px[i * m.channels + c], c);
  return new ort.Tensor('float32', x, [1, m.channels, m.size, m.size]);
}

(async () => {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: node attributes.js MODEL_DIR');
  const crop = decodePNG(fs.readFileSync(path.join(__dirname, 'crop_sample1_face0.png')));
  const models = [];
  for (const m of MODELS) {
    const s = await ort.InferenceSession.create(path.join(dir, m.name + '.onnx'), { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled' });
    const cases = [];
    for (const c of [{ name: 'pattern', px: pattern(m.size, m.channels) }, { name: 'crop_sample1_face0.png', px: nearest(crop, m.size, m.channels) }]) {
      const out = await s.run({ [s.inputNames[0]]: toInput(c.px, m) });
      const outputs = s.outputNames.map((o) => Array.from(out[o].data, (v) => Number(v.toPrecision(9))));
      cases.push({ name: c.name, outputs });
    }
    models.push({ model: m.name, outputs: s.outputNames, cases });
  }
  const golden = { runtime: 'onnxruntime-node ' + require('onnxruntime-node/package.json').version, models };
  fs.writeFileSync(path.join(__dirname, 'golden_attributes.json'), JSON.stringify(golden) + '\n');
})().catch((e) => { console.error(e); process.exit(1); });
