// Is a timeline drawn in this screenshot of the HTML report? Counts the pixels of the two arrival
// series' colours (Okabe-Ito blue #0072B2 "directly", orange #E69F00 "through the proxy") and how
// far along the time axis they spread. The legend's few glyphs stay far below the thresholds.
//   node screenshot_check.mjs SHOT.png   (exit 0: drawn, 1: not)
import { readFileSync } from 'node:fs';
import pngjs from 'pngjs';

const png = pngjs.PNG.sync.read(readFileSync(process.argv[2]));
const series = { direct: [0x00, 0x72, 0xb2], proxy: [0xe6, 0x9f, 0x00] };
const found = {};
for (const [name, [r, g, b]] of Object.entries(series)) {
  let pixels = 0, minX = Infinity, maxX = -1, minY = Infinity, maxY = -1;
  for (let y = 0; y < png.height; y++)
    for (let x = 0; x < png.width; x++) {
      const i = (y * png.width + x) * 4;
      const d = Math.abs(png.data[i] - r) + Math.abs(png.data[i + 1] - g) +
                Math.abs(png.data[i + 2] - b);
      if (d > 24) continue;
      pixels++;
      minX = Math.min(minX, x); maxX = Math.max(maxX, x);
      minY = Math.min(minY, y); maxY = Math.max(maxY, y);
    }
  found[name] = { pixels, x_span: maxX - minX, area: [minX, minY, maxX, maxY] };
}
const drawn = Object.values(found).every(s => s.pixels >= 300 && s.x_span >= 300);
console.log(JSON.stringify({ width: png.width, height: png.height, ...found, drawn }));
process.exit(drawn ? 0 : 1);
